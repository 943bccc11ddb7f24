"""Wall time of the fast commands (`--help`, `list`, `log`, `status`, `show`, `validate`)
on the example project with one imported version. Goal: each under 0.3 s median.

Baseline in the same run: a bare `python -c pass`, so the ratio says what adapterctl adds
to interpreter start-up on this machine. The commands are run round-robin, so a burst of
load from elsewhere falls on all of them alike; the 1-minute load average is printed
before and after. The CPU time column (user + system of the command) is what load changes
least. The adapterctl measured is the checkout this script is in (PYTHONPATH), or the one
--checkout names. Usage: python bench/cli_startup.py [--runs 21] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["list"],
    ["list", "--json"],
    ["validate"],
    ["show", "support"],
    ["show", "support@~0"],
    ["log", "support"],
    ["status"],
]

_ADAPTER = """
import sys, torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(sys.argv[1])
config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
get_peft_model(model, config).save_pretrained(sys.argv[2])
"""


def setup(root: Path) -> Path:
    """`init --example`, then one version of `support` adopted with `import`."""
    demo = root / "demo"
    run = [sys.executable, "-m", "adapterctl"]
    subprocess.run([*run, "init", str(demo), "--example"], check=True, capture_output=True)
    adapter = root / "adapter"
    subprocess.run([sys.executable, "-c", _ADAPTER, str(demo / "models/tiny-base"), str(adapter)], check=True)
    subprocess.run([*run, "import", "support", str(adapter)], cwd=demo, check=True, capture_output=True)
    return demo


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the child). On a loaded machine the wall
    time waits for a core; the CPU time is what the command itself costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(args.checkout.resolve())  # the subprocesses import this adapterctl
    with tempfile.TemporaryDirectory() as tmp:
        demo = setup(Path(tmp))
        cmds = [[sys.executable, "-c", "pass"]] + [[sys.executable, "-m", "adapterctl", *c] for c in COMMANDS]
        for cmd in cmds:  # warm the file cache and the bytecode
            measure(cmd, demo)
        load_before = os.getloadavg()[0]
        walls: list[list[float]] = [[] for _ in cmds]
        cpus: list[list[float]] = [[] for _ in cmds]
        for _ in range(args.runs):
            for i, cmd in enumerate(cmds):
                w, c = measure(cmd, demo)
                walls[i].append(w)
                cpus[i].append(c)
        load_after = os.getloadavg()[0]
    baseline = statistics.median(walls[0])
    print(f"adapterctl from {args.checkout}")
    print(f"{os.cpu_count()} CPUs, load average {load_before:.2f} before, {load_after:.2f} after; {args.runs} runs")
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'cpu s':>7} {'x python -c pass':>17}")
    names = ["python -c pass"] + ["adapterctl " + " ".join(c) for c in COMMANDS]
    for name, w, c in zip(names, walls, cpus, strict=True):
        median = statistics.median(w)
        print(f"{name:<30} {median:9.3f} {min(w):7.3f} {statistics.median(c):7.3f} {median / baseline:17.1f}")


if __name__ == "__main__":
    main()
