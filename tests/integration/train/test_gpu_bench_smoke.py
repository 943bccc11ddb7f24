"""`bench/gpu_train.py --smoke` runs on the CPU: every arm (naive, recipe, tuned TRL peer) and
both cases (short and long rows) train a few steps on a tiny nf4 model, and report MFU against a
matmul timed in the same process. The numbers mean nothing here; the script must work."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import REPO, subprocess_env


@pytest.mark.slow
def test_gpu_bench_smoke_runs_all_arms_on_the_cpu() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench/gpu_train.py"), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        env=subprocess_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    arms = [(m["case"], m["pipeline"].split()[0]) for m in out["measurements"]]
    assert arms == [
        ("short rows", "naive"),
        ("short rows", "adapterctl"),
        ("short rows", "plain"),
        ("long rows", "adapterctl"),
        ("long rows", "plain"),
    ]
    assert all(m["tokens_per_second"] > 0 and m["mfu"] > 0 and m["steps"] == 2 for m in out["measurements"])
    assert out["smoke"] is True and out["matmul_tflops"] > 0
    assert set(out["acceptance"]) == {"short rows", "long rows"}
    recipe = [m for m in out["measurements"] if m["pipeline"].startswith("adapterctl")]
    assert all("rows apart verified: True" in m["notes"] for m in recipe)
