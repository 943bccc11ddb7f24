"""Wall time of the fast commands (`--help`, `list`, `validate`) on the example project.

Baseline in the same run: a bare `python -c pass`, so the ratio says what adapterctl adds
to interpreter start-up on this machine. Usage: python bench/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_wall(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        subprocess.run(
            [sys.executable, "-m", "adapterctl", "init", str(demo), "--example"], check=True, capture_output=True
        )
        baseline = median_wall([sys.executable, "-c", "pass"], demo, args.runs)
        print(f"{'command':<28} {'median s':>9} {'x python -c pass':>17}")
        print(f"{'python -c pass':<28} {baseline:9.3f} {1.0:17.1f}")
        for cmd in (["--help"], ["list"], ["list", "--json"], ["validate"], ["show", "support"]):
            t = median_wall([sys.executable, "-m", "adapterctl", *cmd], demo, args.runs)
            print(f"{'adapterctl ' + ' '.join(cmd):<28} {t:9.3f} {t / baseline:17.1f}")


if __name__ == "__main__":
    main()
