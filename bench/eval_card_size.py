"""Card size and `adapterctl log` time with a 10,000-row eval stored, against the same
version before its eval, in the same run.

    python bench/eval_card_size.py [--rows 10000] [--runs 5] [--json]

A random PEFT adapter on the tiny base is imported as a version of `support`; 10,000 eval
rows are made from the example eval set (outputs are references with words dropped, so
the scores vary), scored by the real metrics registry, and stored through the same calls
`adapterctl eval` makes (results.write beside the card, versions.record_metrics). `log`
runs as a fresh process, median of --runs.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def _log_seconds(root: Path, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "adapterctl", "log", "support"], cwd=root, env=env, check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from adapterctl import api, versions
    from adapterctl.core.project import Project
    from adapterctl.evaluation import metrics, results
    from adapterctl.store import environments

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        api.init(root, example=True)
        project = Project(root)
        model = AutoModelForCausalLM.from_pretrained(root / "models/tiny-base")
        torch.manual_seed(0)
        get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)).save_pretrained(
            Path(tmp) / "adapter"
        )
        version = versions.import_folder(project, "support", Path(tmp) / "adapter")
        before = {"card_bytes": version.card_path.stat().st_size, "log_s": _log_seconds(root, args.runs)}

        source = [json.loads(line) for line in (root / "evals/support.jsonl").read_text().splitlines()]
        rng = random.Random(0)
        refs = [source[i % len(source)]["output"] for i in range(args.rows)]
        outputs = [" ".join(w for w in r.split() if rng.random() > 0.3) for r in refs]
        prompts = [source[i % len(source)]["input"] for i in range(args.rows)]
        scores = metrics.score_generations(
            outputs, refs, None, ["rouge_l", "rouge1", "rouge2", "bleu", "chrf", "exact_match"]
        )
        rows = [
            {
                "hash": f"{i:016x}",
                "prompt": p,
                "reference": r,
                "output": o,
                **s,
                "loss": [round(rng.uniform(10, 60), 6), rng.randint(20, 40)],
            }
            for i, (p, r, o, s) in enumerate(zip(prompts, refs, outputs, scores, strict=True))
        ]
        key = "bench0000000000"
        header = {
            "key": key,
            "subject": version.id,
            "name": "support",
            "rows": len(rows),
            "created": environments.now(),
            "metrics": metrics.corpus(metrics.NAMES, rows),
        }
        result = results.EvalResult(key, version.id, header, rows)
        path = results.version_file(project, "support", version.id, key)
        results.write(path, result)
        entry = results.card_entry(result, project.relpath(path))
        versions.record_metrics(project, version, {**result.metrics, "evals": {key: entry}})
        after = {
            "card_bytes": version.card_path.stat().st_size,
            "log_s": _log_seconds(root, args.runs),
            "results_bytes": path.stat().st_size,
        }
    out = {"rows": args.rows, "before": before, "after": after, "log_ratio": round(after["log_s"] / before["log_s"], 2)}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.rows} eval rows stored")
    print(f"  card: {before['card_bytes']} -> {after['card_bytes']} bytes; results file {after['results_bytes']} bytes")
    print(f"  adapterctl log support: {before['log_s']:.3f} s -> {after['log_s']:.3f} s ({out['log_ratio']}x)")


if __name__ == "__main__":
    main()
