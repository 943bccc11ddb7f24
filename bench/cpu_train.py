"""CPU throughput of `adapterctl train` against the naive pipeline, on the example project's
tiny model, in the same run.

    python bench/cpu_train.py [--steps 8] [--adapter support] [--json]

Both pipelines train the same nf4-quantised tiny base (loaded once) on the same rows of the
example adapter, rendered through its template; the numbers are real (non-pad) tokens per
second over the optimiser steps after the first. The naive pipeline is the LoRA guide's:
rows padded to 1024 tokens, batch 1 x grad-accum 8, labels = input_ids, plain Trainer
(fp16 when the device has it). The recipe runs as `adapterctl train` does, val loss off,
with each batching method. It also reports the wall time and val-loss drop of a full
`adapterctl train` of the adapter (train, save; no registration), unless --no-full.
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
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_project(folder: Path):
    import shutil

    from adapterctl import tiny
    from adapterctl.core import assets
    from adapterctl.core.project import Project

    root = folder / "demo"
    shutil.copytree(assets.example_dir(), root)
    tiny.build_tiny_model(root / "models/tiny-base")
    return Project(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps measured per pipeline")
    parser.add_argument("--adapter", default="support")
    parser.add_argument("--no-full", action="store_true", help="skip the full `train` of the adapter")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch
    from train_common import naive_rows, recipe_job, report, run_naive, run_recipe

    from adapterctl.runtime.quiet import quiet
    from adapterctl.train.recipe import BaseCache

    with tempfile.TemporaryDirectory() as tmp, quiet():
        project = make_project(Path(tmp))
        spec_job = recipe_job(project, args.adapter, [], args.steps)
        bases = BaseCache()
        bases.get(project, spec_job, "cpu", None)  # one nf4 base for every pipeline
        spec = spec_job.adapter_spec()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # what the recipe does for small models; the same for all pipelines
        try:
            rows = naive_rows(project.root, spec.data, spec.template)
            try:
                naive = run_naive(
                    bases.loaded.model,
                    bases.loaded.tokenizer,
                    rows,
                    steps=args.steps,
                    out_dir=Path(tmp) / "naive",
                    device="cpu",
                    fp16=True,
                )
            except (ValueError, RuntimeError):
                naive = run_naive(
                    bases.loaded.model,
                    bases.loaded.tokenizer,
                    rows,
                    steps=args.steps,
                    out_dir=Path(tmp) / "naive",
                    device="cpu",
                    fp16=False,
                )
        finally:
            torch.set_num_threads(threads)
        results = [naive]
        for batching in ("padding_free", "padded", "packed"):
            job = recipe_job(project, args.adapter, [f'train.batching="{batching}"'], args.steps)
            results.append(run_recipe(project, job, bases, steps=args.steps, device="cpu"))
        full = None if args.no_full else full_train(project, args.adapter)

    if args.json:
        print(json.dumps({"measurements": [r.to_dict() for r in results], "full_train": full}, indent=2))
        return
    print(f"CPU, {torch.get_num_threads()} threads available; tiny base ({args.adapter}), {args.steps} steps each\n")
    print(report(results, naive))
    if full:
        print(
            f"\nfull `adapterctl train {args.adapter}`: {full['wall_seconds']:.0f}s wall "
            f"({full['train_seconds']:.0f}s training, {full['steps']} steps), val loss "
            f"{full['val_loss']['first']:.3f} -> {full['val_loss']['final']:.3f} "
            f"({100 * full['val_loss']['drop']:.0f}% lower)"
        )


def full_train(project, adapter: str) -> dict:
    from adapterctl.train import runner
    from adapterctl.train.options import RunOptions

    started = time.perf_counter()
    options = RunOptions(progress="none")
    jobs = runner.prepare(project, [adapter], [], options=options)
    [outcome] = runner.train_all(project, jobs, options, do_register=False)
    s = outcome.summary
    return {
        "wall_seconds": round(time.perf_counter() - started, 1),
        "train_seconds": s.train_seconds,
        "steps": s.steps,
        "val_loss": s.val_loss.to_dict() if s.val_loss else None,
        "tokens_per_second": s.tokens_per_second,
    }


if __name__ == "__main__":
    main()
