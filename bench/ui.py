"""Bench `adapterctl ui`: 200 versions of one adapter and 10,000 eval rows, every page timed.

Builds a project (the example, init'ed for real) with 200 version cards of `support` in a
parent chain, each with metrics, gates and a loss curve. The newest two were evaluated on a
10,000-row eval set (results committed beside their cards, as `eval` writes them) and have
real LoRA weights (so compare computes ΔW); the 198 older ones carry 100-row results. Then
starts `adapterctl ui` as its own process, requests each page once (cold: nothing
remembered yet; the adapter page first, which waits for the intervals the server bootstraps
in the background at start) and 15 more times (median), and reads the process's peak RSS.

    python bench/ui.py            # goals: every page < 300 ms median, peak RSS < 300 MB
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's adapterctl, as the server process gets
VERSIONS, BIG_ROWS, SMALL_ROWS = 200, 10_000, 100


def weights_folder(folder: Path, seed: int) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in range(2):
        for proj in ("q_proj", "v_proj"):
            key = f"base_model.model.model.layers.{layer}.self_attn.{proj}"
            tensors[f"{key}.lora_A.weight"] = rng.normal(size=(8, 64)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = rng.normal(size=(64, 8)).astype(np.float32) * 0.01
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))


def build(root: Path) -> list[str]:
    from adapterctl import api
    from adapterctl.core.project import Project
    from adapterctl.evaluation import results
    from adapterctl.store import weights
    from adapterctl.versions import card as cards

    api.init(root, example=True, remote=str(root.parent / "remote"))
    project = Project(root)
    spec = api.show_spec(project, "support").spec
    folder = project.adapter_dir("support")
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    ids, parent = [], ""
    for i in range(VERSIONS):
        big = i >= VERSIONS - 2
        staging = root / ".bench" / f"v{i}"
        if big:
            weights_folder(staging, i)
            vid = weights.content_id(staging)
        else:
            vid = hashlib.sha256(f"bench-{i}".encode()).hexdigest()  # weights not pulled here
        n = BIG_ROWS if big else SMALL_ROWS
        skill = 0.2 + 0.3 * i / VERSIONS
        rows = []
        for r in range(n):
            score = min(1.0, max(0.0, rng.gauss(skill, 0.15)))
            rows.append(
                {
                    "hash": f"{r:016x}",
                    "prompt": f"Customer question {r}: how do I reset my password on device {r % 97}?",
                    "reference": f"Open settings, choose account {r % 13}, then reset.",
                    "output": f"Go to settings and reset account {r % 11}.",
                    "rouge_l": score,
                    "exact_match": float(score > 0.9),
                    "loss": [rng.uniform(1.0, 3.0) * 20, 20],
                }
            )
        key = f"{n:016x}"
        rel = f"adapters/support/{vid}.eval-{key}.jsonl"
        mean = {m: sum(r[m] for r in rows) / n for m in ("rouge_l", "exact_match")}
        mean["eval_loss"] = sum(r["loss"][0] for r in rows) / sum(r["loss"][1] for r in rows)
        created = f"2026-11-{1 + i // 10:02d}T{i % 24:02d}:00:00.000000Z"
        header = {"key": key, "subject": vid, "metrics": mean, "created": created}
        results.write(root / rel, results.EvalResult(key, vid, header, rows))
        if big:
            staging.rename(folder / vid)
        history = [{"step": s, "loss": 3.0 - s * 0.01 * (1 + i / VERSIONS)} for s in range(0, 200, 10)]
        history += [{"step": s, "val_loss": 3.1 - s * 0.008} for s in range(0, 200, 50)]
        card = {
            "name": "support",
            "id": vid,
            "parent": parent,
            "created": created,
            "message": f"bench version {i}",
            "spec": spec,
            "metrics": {**mean, "evals": {key: {"results": rel, "rows": n, "created": created, "metrics": mean}}},
            "gates": {"passed": mean["rouge_l"] >= 0.2, "failed": [], "checked": []},
            "training": {"steps": 200, "history": history},
        }
        (folder / f"{vid}.toml").write_text(cards.dump(cards.from_dict(card)))
        ids.append(vid)
        parent = vid
    api.deploy(project, f"support@{ids[-2][:12]}", "prod", ignore_gates=True)
    api.deploy(project, f"support@{ids[-1][:12]}", "prod", ignore_gates=True)
    api.deploy(project, f"support@{ids[-2][:12]}", "staging", ignore_gates=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=root, check=True, capture_output=True)
    return ids


def main() -> int:
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        started = time.perf_counter()
        ids = build(root)
        print(f"built {VERSIONS} versions in {time.perf_counter() - started:.1f} s")
        a, b = f"support@{ids[-2][:12]}", f"support@{ids[-1][:12]}"
        pages = {  # the adapter page first: its first request waits for the background interval warm-up
            "adapter": "/adapter/support",
            "overview": "/",
            "version": f"/version/{b}",
            "version, search + sort": f"/version/{b}?q=device+42&sort=rouge_l",
            "compare": f"/compare?a={a}&b={b}",
            "environment": "/env/prod",
            "branch report": "/report?base=HEAD~1",
        }
        port = 8600 + os.getpid() % 1000
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "adapterctl", "ui", "--port", str(port), "-C", str(root)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(url + "/live", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print("| page | first request (ms) | median of 15 (ms) |\n|---|---|---|")
            worst = 0.0
            for name, path in pages.items():
                t0 = time.perf_counter()
                r = httpx.get(url + path, timeout=120)
                first = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (path, r.status_code, r.text[:500])
                times = []
                for _ in range(15):
                    t0 = time.perf_counter()
                    httpx.get(url + path, timeout=60).raise_for_status()
                    times.append((time.perf_counter() - t0) * 1000)
                median = statistics.median(times)
                worst = max(worst, median)
                print(f"| {name} | {first:.0f} | {median:.1f} |")
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
            print(f"\nload average during the run: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
            print(f"slowest median: {worst:.1f} ms (goal < 300); peak RSS: {peak:.0f} MB (goal < 300)")
            return 0 if worst < 300 and peak < 300 else 1
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
