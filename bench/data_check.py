"""Wall time of `adapterctl data check` on a large generated dataset (default 100k rows).

Builds a project in a temporary folder: the tiny base (its tokenizer serves the length
check), 100k synthetic instruction rows (Zipf-distributed words from a 20k vocabulary,
answers of 15-60 words) with about 1% exact duplicates, 1% near-duplicates, 0.5% debris and
100 rows leaked from a 2k-row eval file. Then, each as a fresh process (imports included,
what a user pays), the cache off:

- baseline: `datasets.load_dataset("json", ...)` of the training file, the read `train` does anyway;
- `adapterctl data check NAME --no-cache` with every check (near-duplicates included);
- the same with near_duplicate and near_leakage off, and with the length check off;
- `adapterctl data check NAME` again: the cached report of unchanged files;
- a file of a few rows and one 50 MB row (`--huge-row-mb`): wall time and peak RSS of
  the check, which must refuse the row with its line and stay under 1 GB
  (`--huge-row-only` runs just this case).

Prints the load average and each process's CPU time (user + system) beside the wall times:
the development machine is shared, and under load the wall time says more about the
neighbours than about the check.

    PYTHONPATH=$PWD python bench/data_check.py [--rows 100000] [--huge-row-mb 50] [--huge-row-only] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
INSTRUCTIONS = [
    "Answer the customer.",
    "Reply as a support agent.",
    "Explain briefly.",
    "Give a short answer.",
    "Write a helpful reply to this ticket.",
    "Answer from the documentation.",
]


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def build(root: Path, rows: int, seed: int = 0) -> dict[str, int]:
    from adapterctl.tiny import build_tiny_model

    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]

    def text(n: int) -> str:
        return " ".join(rng.choices(vocab, weights, k=n))

    def row() -> dict:
        return {
            "instruction": rng.choice(INSTRUCTIONS),
            "input": text(rng.randint(6, 20)) + "?",
            "output": text(rng.randint(15, 60)).capitalize() + ".",
        }

    build_tiny_model(root / "models/tiny-base")
    evals = [row() for _ in range(2000)]
    train, planted = [], {"duplicate": 0, "near_duplicate": 0, "debris": 0, "leakage": 0}
    while len(train) < rows:
        roll = rng.random()
        if train and roll < 0.01:
            train.append(dict(rng.choice(train)))
            planted["duplicate"] += 1
        elif train and roll < 0.02:
            base = dict(rng.choice(train))
            words = base["output"].split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            train.append({**base, "output": " ".join(words)})
            planted["near_duplicate"] += 1
        elif roll < 0.025:
            train.append({**row(), "output": "<p>" + text(20) + "</p> &amp; more"})
            planted["debris"] += 1
        elif roll < 0.026 and planted["leakage"] < 100:
            train.append(dict(rng.choice(evals)))
            planted["leakage"] += 1
        else:
            train.append(row())
    (root / "data").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "data/bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    (root / "evals/bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    (root / "adapterctl.toml").write_text(
        '[base]\nmodel = "models/tiny-base"\n\n[defaults.train]\nmax_length = 512\n\n'
        '[adapters.bench]\ndata = "data/bench.jsonl"\neval_data = "evals/bench.jsonl"\n\n'
        '[adapters.bench_exact]\ndata = "data/bench.jsonl"\neval_data = "evals/bench.jsonl"\n\n'
        '[adapters.bench_exact.data_checks]\nnear_duplicate = "off"\nnear_leakage = "off"\n\n'
        '[adapters.bench_nolength]\ndata = "data/bench.jsonl"\neval_data = "evals/bench.jsonl"\n\n'
        '[adapters.bench_nolength.data_checks]\nlength = "off"\n'
    )
    return planted


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the child: user + system, all its threads), the process."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


# Runs a command and prints its peak resident set (KiB on Linux): measured in a wrapper so
# that no other child of this script counts.
_PEAK_RSS = (
    "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode, file=sys.stderr)"
)


def huge_row(root: Path, megabytes: int) -> dict:
    """`data check` of 20 ordinary rows around one row of `megabytes` MB: seconds, peak RSS, what it said."""
    from adapterctl.tiny import build_tiny_model

    build_tiny_model(root / "models/tiny-base")
    (root / "data").mkdir(parents=True)
    rows = [
        json.dumps({"instruction": "Answer.", "input": f"question {i}?", "output": f"answer {i}."}) for i in range(20)
    ]
    big = json.dumps({"instruction": "Answer.", "input": "x" * (megabytes * 1_000_000), "output": "y"})
    (root / "data/huge.jsonl").write_text("\n".join([*rows[:10], big, *rows[10:]]) + "\n")
    (root / "adapterctl.toml").write_text(
        '[base]\nmodel = "models/tiny-base"\n\n[adapters.huge]\ndata = "data/huge.jsonl"\n'
    )
    cmd = [sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "adapterctl", "data", "check", "huge", "--json"]
    seconds, _, proc = timed(cmd, root)
    peak_kib, code = (int(x) for x in proc.stderr.strip().splitlines()[-1].split())
    problems = json.loads(proc.stdout)["problems"]
    refused = [f"{p['file']}:{p['line']}: {p['message']}" for p in problems if p["check"] == "schema"]
    return {
        "run": f"data check, one {megabytes} MB row",
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "exit_code": code,
        "refused": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--huge-row-mb", type=int, default=50)
    parser.add_argument("--huge-row-only", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.huge_row_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(huge_row(Path(tmp) / "huge", args.huge_row_mb), indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        planted = build(root, args.rows)
        load_before = os.getloadavg()[0]
        py = sys.executable
        baseline_code = (
            "import datasets; datasets.disable_progress_bar(); "
            "datasets.load_dataset('json', data_files='data/bench.jsonl', split='train', keep_in_memory=True)"
        )
        runs = {"baseline: datasets.load_dataset (json)": timed([py, "-c", baseline_code], root)}
        runs["data check, every check"] = timed(
            [py, "-m", "adapterctl", "data", "check", "bench", "--no-cache", "--json"], root
        )
        runs["data check, near-duplicates off"] = timed(
            [py, "-m", "adapterctl", "data", "check", "bench_exact", "--no-cache", "--json"], root
        )
        runs["data check, length check off"] = timed(
            [py, "-m", "adapterctl", "data", "check", "bench_nolength", "--no-cache", "--json"], root
        )
        runs["data check again (cached)"] = timed([py, "-m", "adapterctl", "data", "check", "bench", "--json"], root)
        load_after = os.getloadavg()[0]
        baseline = runs["baseline: datasets.load_dataset (json)"][0]  # wall
        results = []
        for name, (seconds, cpu, proc) in runs.items():
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
            found = {}
            if name.startswith("data check"):
                checks = json.loads(proc.stdout)["summary"]["checks"]
                found = {c: v["problems"] for c, v in checks.items() if v["problems"]}
            results.append(
                {
                    "run": name,
                    "seconds": round(seconds, 2),
                    "cpu_seconds": round(cpu, 2),
                    "x_baseline": round(seconds / baseline, 2),
                    "found": found,
                }
            )
        huge = huge_row(Path(tmp) / "huge", args.huge_row_mb)
        out = {
            "huge_row": huge,
            "rows": args.rows,
            "planted": planted,
            "load_average": [round(load_before, 2), round(load_after, 2)],
            "cpus": os.cpu_count(),
            "results": results,
        }
        if args.json:
            print(json.dumps(out, indent=2))
            return
        print(
            f"{args.rows} rows; planted {planted}; load average {load_before:.2f} → {load_after:.2f} "
            f"on {os.cpu_count()} CPUs"
        )
        print(f"{'run':<42} {'wall s':>7} {'CPU s':>7} {'x baseline':>11}")
        for r in results:
            print(
                f"{r['run']:<42} {r['seconds']:7.2f} {r['cpu_seconds']:7.2f} {r['x_baseline']:11.2f}  "
                f"{r['found'] or ''}"
            )
        print(f"{huge['run']}: {huge['seconds']:.2f} s, peak RSS {huge['peak_rss_mb']} MB; {huge['refused']}")


if __name__ == "__main__":
    main()
