"""`adapterctl serve` on the tiny model: swap latency and requests/s.

Builds `adapterctl init --example` in a temporary folder, imports N random PEFT adapters
(real PEFT) as versions of `support`, deploys the first to prod and starts the server as a
separate process on 127.0.0.1. Then measures, in the same run:

- swap latency: from calling `deploy` (Python API) to the first answer whose
  X-Adapter-Version header names the new version, for versions never loaded before (cold:
  verify + load) and for rollbacks to a version still loaded (warm); baseline: restarting
  the server (process start to first answer), which is what a swap replaces;
- requests/s with 1, 8 and 32 concurrent clients (greedy, 16 new tokens each); baseline:
  1 client, and the same loads against a server started with --max-batch 1 (no batching).

    PYTHONPATH=$PWD python bench/serve.py                 # 6 versions, 64 requests per level
    PYTHONPATH=$PWD python bench/serve.py --requests 192 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Hello, how are you?"
HEADER = "X-Adapter-Version"


def build_project(root: Path, n_versions: int) -> list:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from adapterctl import api, versions

    hf_logging.disable_progress_bar()
    api.init(root, example=True, remote=str(root.parent / "remote"))
    project = api.open_project(root)
    made = []
    for seed in range(n_versions):
        model = AutoModelForCausalLM.from_pretrained(root / "models" / "tiny-base")
        torch.manual_seed(seed)
        config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
        out = root.parent / "adapters" / str(seed)
        get_peft_model(model, config).save_pretrained(out)
        made.append(versions.import_folder(project, "support", out, message=f"bench {seed}"))
    api.deploy(
        project, made[0].ref, "prod", ignore_gates=True
    )  # imported versions are never evaluated: gates do not apply
    return made


def start_server(root: Path, *args: str) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapterctl", "serve", "--env", "prod", "--port", str(port), *args],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited {proc.returncode}")
        try:
            r = httpx.post(
                f"{url}/v1/completions", json={"model": "support", "prompt": PROMPT, "max_tokens": 1}, timeout=5
            )
            if r.status_code == 200:
                return proc, url, time.perf_counter() - started
        except httpx.TransportError:
            pass
        if time.perf_counter() - started > 300:
            proc.kill()
            raise SystemExit("the server did not answer within 300 s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def swap_latency(root: Path, url: str, target, action) -> float:
    """Seconds from the move to the first answer served by `target`."""
    started = time.perf_counter()
    action()
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.perf_counter() - started < 60:
            r = client.post("/v1/completions", json={"model": "support", "prompt": PROMPT, "max_tokens": 1})
            if r.headers.get(HEADER) == target.id:
                return time.perf_counter() - started
    raise SystemExit(f"{target.ref} was not served within 60 s")


async def throughput(url: str, clients: int, total: int) -> float:
    per_client = max(1, total // clients)

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            r = await client.post(
                "/v1/completions", json={"model": "support", "prompt": PROMPT, "max_tokens": 16, "temperature": 0}
            )
            r.raise_for_status()

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        warm = await client.post("/v1/completions", json={"model": "support", "prompt": PROMPT, "max_tokens": 16})
        warm.raise_for_status()  # first-request costs out of the measurement
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        return per_client * clients / (time.perf_counter() - started)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=6, help="versions to build (cold swaps = versions - 1)")
    parser.add_argument("--requests", type=int, default=64, help="requests per concurrency level")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    from adapterctl import api

    results: dict = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        made = build_project(root, args.versions)
        project = api.open_project(root)

        proc, url, restart = start_server(root)
        results["restart_to_first_answer_s"] = restart
        note(f"server up in {restart:.1f} s")
        try:
            cold = [
                swap_latency(root, url, v, lambda v=v: api.deploy(project, v.ref, "prod", ignore_gates=True))
                for v in made[1:]
            ]
            warm = []
            for v in reversed(made[:-1]):  # roll back one by one: each target is still loaded (LRU of 4)
                warm.append(swap_latency(root, url, v, lambda: api.rollback(project, "support", "prod")))
                if len(warm) == 4:
                    break
            results["swap_cold_s"] = cold
            results["swap_warm_s"] = warm
            note(f"swaps: cold {cold}, warm {warm}")
            results["rps_batched"] = {c: asyncio.run(throughput(url, c, args.requests)) for c in (1, 8, 32)}
            note(f"batched: {results['rps_batched']}")
        finally:
            stop(proc)
        proc, url, _ = start_server(root, "--max-batch", "1")
        try:
            results["rps_unbatched"] = {c: asyncio.run(throughput(url, c, args.requests)) for c in (1, 8, 32)}
        finally:
            stop(proc)
    results["load_after"] = os.getloadavg()[0]

    if args.json:
        print(json.dumps(results, indent=2))
        return
    base = results["restart_to_first_answer_s"]
    print(f"load average {results['load_before']:.1f} → {results['load_after']:.1f}\n")
    print("| move | median s | max s | × restart |\n|---|---|---|---|")
    print(f"| restart the server (baseline) | {base:.2f} | | 1.0 |")
    for label, key in (
        ("deploy, version not loaded (verify + load)", "swap_cold_s"),
        ("rollback, version still loaded", "swap_warm_s"),
    ):
        xs = results[key]
        print(f"| {label} | {statistics.median(xs):.3f} | {max(xs):.3f} | {statistics.median(xs) / base:.3f} |")
    one = results["rps_batched"][1]
    print("\n| clients | req/s batched | × 1 client | req/s --max-batch 1 |\n|---|---|---|---|")
    for c in (1, 8, 32):
        print(
            f"| {c} | {results['rps_batched'][c]:.1f} | {results['rps_batched'][c] / one:.2f} | "
            f"{results['rps_unbatched'][c]:.1f} |"
        )


if __name__ == "__main__":
    main()
