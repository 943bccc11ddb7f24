"""Batched greedy generation (what `adapterctl eval` does) against one row at a time, on the
example project's eval set and tiny base model, in the same run.

    python bench/eval_generate.py [--adapter support] [--rows 100] [--batch-size 16] [--json]

Both paths call evaluation.generate.generate with the same prompts, greedy decoding, KV
cache and max_new_tokens from the example's eval spec; only batch_size differs (left
padding, rows sorted by prompt length). One thread for both: on a shared CPU the ratio is
steadier than the seconds. Also reports how many outputs agree exactly between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", default="support")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the eval spec's batch_size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import shutil

    import torch

    from adapterctl import manifest, modeling, tiny
    from adapterctl.core import assets
    from adapterctl.core.project import Project
    from adapterctl.data import examples
    from adapterctl.evaluation import generate as gen

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        shutil.copytree(assets.example_dir(), root)
        tiny.build_tiny_model(root / "models/tiny-base")
        project = Project(root)
        m = manifest.load(project.manifest_path)
        spec = m.adapter(args.adapter)
        loaded = modeling.load_base(project, m.base, manifest.TrainSpec(quantization="none"), for_training=False)
        _, rows = examples.render_file(root, spec.eval_data, spec.template)
        prompts = [gen.prompt_text(loaded.tokenizer, r["prompt"]) for r in rows[: args.rows]]
        batch = args.batch_size or spec.eval.batch_size
        timings, outputs = {}, {}
        for label, size in (("one row at a time", 1), (f"batched ({batch} rows)", batch)):
            started = time.perf_counter()
            outputs[label] = gen.generate(
                loaded.model,
                loaded.tokenizer,
                prompts,
                max_new_tokens=spec.eval.max_new_tokens,
                batch_size=size,
                max_length=spec.train.max_length,
            )
            timings[label] = time.perf_counter() - started
    single, batched = list(timings)
    result = {
        "rows": len(prompts),
        "max_new_tokens": spec.eval.max_new_tokens,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "rows_per_second": {k: round(len(prompts) / v, 1) for k, v in timings.items()},
        "speedup": round(timings[single] / timings[batched], 2),
        "identical_outputs": sum(a == b for a, b in zip(outputs[single], outputs[batched], strict=True)),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['rows']} rows, max_new_tokens {result['max_new_tokens']}, one thread")
    for k in timings:
        print(f"  {k:24s} {result['seconds'][k]:7.2f} s  {result['rows_per_second'][k]:6.1f} rows/s")
    print(f"  speedup {result['speedup']}x; identical outputs {result['identical_outputs']}/{result['rows']}")


if __name__ == "__main__":
    main()
