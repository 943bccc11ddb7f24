"""Wall times of `log`, `status` and `rollback` on a project with many versions.

Builds `adapterctl init --example` in a temporary folder, imports N random PEFT adapters
(real PEFT, tiny model) as versions of `support`, deploys ten of them to prod, then runs each
command as a fresh process (what a user pays, interpreter start included), median of R runs,
and checks with `python -X importtime` that none of them imports torch.

    PYTHONPATH=$PWD python bench/versions_bench.py            # 50 versions, median of 5
    PYTHONPATH=$PWD python bench/versions_bench.py --versions 200 --repeat 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes")


def build_project(root: Path, n_versions: int) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from adapterctl import api, versions

    hf_logging.disable_progress_bar()

    api.init(root, example=True, remote=str(root.parent / "remote"))
    project = api.open_project(root)
    base_dir = root / "models" / "tiny-base"
    adapters = root.parent / "adapters"
    started = time.perf_counter()
    for seed in range(n_versions):
        model = AutoModelForCausalLM.from_pretrained(base_dir)
        torch.manual_seed(seed)
        config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
        get_peft_model(model, config).save_pretrained(adapters / str(seed))
        versions.import_folder(project, "support", adapters / str(seed), message=f"bench version {seed}")
    per_version = (time.perf_counter() - started) / n_versions
    print(f"built {n_versions} versions ({per_version:.2f} s each: PEFT adapter + import)", file=sys.stderr)
    history = versions.log(project, "support")
    for v in reversed(history[:10]):  # ten deploys: rollbacks have somewhere to go back to
        api.deploy(project, v.ref, "prod")


def _cli(args: list[str], cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(
        [sys.executable, *extra, "-m", "adapterctl", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"adapterctl {' '.join(args)} failed:\n{result.stderr}")
    return result


def time_command(args: list[str], cwd: Path, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _cli(args, cwd)
        times.append(time.perf_counter() - started)
    trace = _cli(args, cwd, "-X", "importtime").stderr
    imported = {line.split("|")[-1].strip() for line in trace.splitlines() if line.startswith("import time:")}
    heavy = sorted(m for m in HEAVY if m in imported)
    return {
        "command": "adapterctl " + " ".join(args),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "heavy_imports": heavy,
    }


def time_in_process(root: Path, repeat: int) -> dict[str, float]:
    """api.log / api.status / a deploy+rollback pair, without interpreter start and imports."""
    from adapterctl import api

    project = api.open_project(root)
    target = api.log(project, "support")[0].id

    def deploy_and_rollback() -> None:
        api.deploy(project, f"support@{target}", "bench")
        api.rollback(project, "support", "bench")

    calls = {
        "api.log(support)": lambda: api.log(project, "support"),
        "api.status()": lambda: api.status(project),
        "api.deploy + api.rollback": deploy_and_rollback,
    }
    api.deploy(project, "support@~1", "bench")
    out = {}
    for name, call in calls.items():
        call()  # warm
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        out[name] = statistics.median(times)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    opts = parser.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1", "TOKENIZERS_PARALLELISM": "false"})

    with tempfile.TemporaryDirectory() as tmp:
        root = (opts.keep or Path(tmp) / "bench") / "demo"
        build_project(root, opts.versions)
        # --help and list: what any command pays to start (interpreter, typer, pydantic), for scale
        commands = [["--help"], ["list"], ["log", "support"], ["status"], ["rollback", "support", "--env", "prod"]]
        results = [time_command(c, root, opts.repeat) for c in commands]
        in_process = time_in_process(root, opts.repeat)

    if opts.json:
        print(
            json.dumps(
                {
                    "versions": opts.versions,
                    "repeat": opts.repeat,
                    "load": os.getloadavg()[0],
                    "results": results,
                    "in_process_s": in_process,
                },
                indent=2,
            )
        )
    else:
        print(
            f"{opts.versions} versions, median of {opts.repeat} runs, each a fresh process "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):"
        )
        for r in results:
            torch_note = "no torch" if not r["heavy_imports"] else "IMPORTS " + ",".join(r["heavy_imports"])
            print(
                f"  {r['command']:<42} {r['median_s']:6.2f} s  (min {r['min_s']:.2f}, max {r['max_s']:.2f})  {torch_note}"
            )
        print("the same work in a warm process (Python API), median:")
        for name, seconds in in_process.items():
            print(f"  {name:<42} {seconds * 1000:6.1f} ms")
    return 1 if any(r["heavy_imports"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
