"""GPU throughput, MFU and peak memory of adapterctl's QLoRA recipe against a tuned plain TRL
run (the peer) and the naive pipeline, on a randomly initialised model of a real 7B shape
(Llama-2-7B: hidden 4096, 32 layers, MLP 11008, vocab 32000), all in one process. No hub
access: the model is built on the GPU itself (no CPU copy) and quantised to nf4 in place.

    python bench/gpu_train.py [--steps 10] [--tokens-per-step 8192] [--json]   # CUDA, ~4-6 min on an H200
    python bench/gpu_train.py --smoke [--json]                                 # tiny shape, any device

Every arm trains LoRA r=16 (all linear layers) on the same nf4 base with the same tokens per
step, in two cases:
  short rows: the example project's `support` rows (~135 tokens, rendered through its template);
  long rows:  512-2048 tokens each, built by joining consecutive support rows.
Arms: the recipe as `adapterctl train` runs it on a GPU (bf16 compute, no float32 upcast,
varlen attention with rows kept apart and verified by the probe, batches by
train.max_tokens_per_batch); the peer, plain TRL SFTTrainer with best-fit packing, bf16 and
the best attention installed (see train_common.run_peer); and, for short rows, the LoRA guide's
naive pipeline (pad to 1024, batch 1 x accum 8, fp16, PEFT's k-bit upcast). Order: peers, then
the recipe (Liger, when installed, patches the shared base in place), then naive (the upcast
changes the shared base). An 8192^3 bf16 matmul is timed in the same process and
each arm's MFU is reported against it (4 x linear params FLOPs per real token; attention FLOPs
not counted). Reported: real (non-pad) tokens/s over the steps after the first, and peak GPU
memory during training. The acceptance block at the end compares recipe and peer.
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

SHAPE_7B = dict(
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    vocab_size=32000,
    max_position_embeddings=4096,
)
SHAPE_SMOKE = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    vocab_size=1024,
    max_position_embeddings=1024,
)


def build_nf4_model(shape: dict, device: str, compute_dtype):
    """A random Llama of `shape`, created directly on `device` in bf16, its decoder linears
    replaced by bitsandbytes nf4 layers (double quantisation), one at a time."""
    import bitsandbytes as bnb
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        **shape, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0, use_cache=False
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):  # parameters are allocated on the device, never on the CPU
            torch.manual_seed(0)
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name, child in list(parent.named_children()):
                if not isinstance(child, torch.nn.Linear):
                    continue
                q = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=child.bias is not None,
                    compute_dtype=compute_dtype,
                    compress_statistics=True,
                    quant_type="nf4",
                    device="meta",
                )
                q.weight = bnb.nn.Params4bit(
                    child.weight.data, requires_grad=False, compress_statistics=True, quant_type="nf4", module=q
                ).to(device)
                setattr(parent, name, q)
                del child
    model.is_loaded_in_4bit = True  # what PEFT and TRL check to pick their k-bit paths
    if device == "cuda":
        torch.cuda.empty_cache()
    return model.train()


def set_compute_dtype(model, dtype) -> None:
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.compute_dtype = dtype


def add_adapter(project, name: str, rows: list[dict[str, str]]) -> None:
    """Write `rows` as data/NAME.jsonl and declare [adapters.NAME] (prompt/completion rows, no template)."""
    (project.root / f"data/{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with open(project.manifest_path, "a") as f:
        f.write(f'\n[adapters.{name}]\ndata = "data/{name}.jsonl"\n')


def acceptance(results) -> dict:
    """Issue 13's GPU acceptance, computed (not asserted): recipe against the peer per case."""
    out = {}
    for case in sorted({r.case for r in results}):
        recipe = next((r for r in results if r.case == case and r.pipeline.startswith("adapterctl")), None)
        peer = next((r for r in results if r.case == case and r.pipeline.startswith("plain TRL")), None)
        if not (recipe and peer):
            continue
        speed = recipe.tokens_per_second / peer.tokens_per_second
        memory_ok = None if recipe.peak_memory_gb is None else recipe.peak_memory_gb <= peer.peak_memory_gb
        out[case] = {
            "speed_vs_peer": round(speed, 2),
            "speed_ok": speed >= 1.5,
            "recipe_peak_gb": recipe.peak_memory_gb,
            "peer_peak_gb": peer.peak_memory_gb,
            "memory_ok": memory_ok,
            "recipe_mfu": recipe.mfu,
            "mfu_ok": None if recipe.mfu is None else recipe.mfu >= 0.5,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="optimiser steps measured per arm")
    parser.add_argument("--tokens-per-step", type=int, default=8192, help="tokens per optimiser step, every arm")
    parser.add_argument("--smoke", action="store_true", help="tiny shape, 2 steps, any device")
    parser.add_argument("--no-long", action="store_true", help="skip the long-row case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--json-out", type=Path, help="also write the JSON to this file")
    args = parser.parse_args()

    import torch
    from train_common import (
        linear_params,
        long_rows,
        matmul_tflops,
        naive_rows,
        recipe_job,
        report,
        run_naive,
        run_peer,
        run_recipe,
    )

    from adapterctl import modeling, tiny
    from adapterctl.core.project import Project
    from adapterctl.runtime.precision import prepare_kbit
    from adapterctl.runtime.quiet import quiet
    from adapterctl.train.recipe import BaseCache

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" and not args.smoke:
        sys.exit("bench/gpu_train.py needs a CUDA device (use --smoke to check the script elsewhere)")
    shape, steps = (SHAPE_SMOKE, 2) if args.smoke else (SHAPE_7B, args.steps)
    per_step = 1024 if args.smoke else args.tokens_per_step
    # (row length range, peer's packed sequence length) per case
    cases = {
        "short rows": (None, 256 if args.smoke else 1024),
        "long rows": ((128, 256) if args.smoke else (512, 2048), 256 if args.smoke else 2048),
    }
    if args.no_long:
        cases.pop("long rows")
    if device == "cpu":
        torch.set_num_threads(1)  # what the recipe does for small models; the same for every arm
    compute = torch.bfloat16 if device == "cuda" else torch.float32
    dtype_name = "bfloat16" if compute == torch.bfloat16 else "float32"
    started = time.perf_counter()
    peak_tflops = matmul_tflops(device, size=8192 if device == "cuda" else 512)
    with tempfile.TemporaryDirectory() as tmp, quiet():
        import shutil

        from adapterctl.core import assets

        root = Path(tmp) / "demo"
        shutil.copytree(assets.example_dir(), root)
        tiny.build_tiny_model(root / "models/tiny-base")  # only its tokenizer and folder are used
        project = Project(root)
        tokenizer = tiny.build_tokenizer()
        model = build_nf4_model(shape, device, compute)
        if device == "cpu":
            modeling._keep_4bit_layout(model)  # as load_base does: no in-place repacking on eval forwards
        n_linear = linear_params(model)
        built = time.perf_counter() - started
        precision = prepare_kbit(model, dtype_name)  # what modeling.load_base does for training

        spec = recipe_job(project, "support", [], steps).adapter_spec()
        short = naive_rows(project.root, spec.data, spec.template)
        data = {"short rows": short}
        if "long rows" in cases:
            (low, high), _ = cases["long rows"]
            data["long rows"] = long_rows(
                short, tokenizer, low=low, high=high, tokens=int(1.3 * (steps + 2) * per_step)
            )
            add_adapter(project, "long", data["long rows"])

        class Preloaded(BaseCache):
            """The model built above stands in for the manifest's base."""

            def get(self, project, job, dev, device_index):
                return self.loaded

        bases = Preloaded()
        bases.loaded = modeling.LoadedBase(
            model,
            tokenizer,
            modeling.BaseKey("random-7b", None, "nf4", True, dtype_name, dtype_name, device, False),
            modeling.BaseInfo(
                model="random-7b-shape",
                revision=None,
                source="local",
                commit=None,
                dtype=dtype_name,
                device=device,
                quantization={"requested": "nf4", "used": "nf4"},
                attn_implementation=model.config._attn_implementation,
            ),
            precision,
        )
        # Peers first: the recipe may apply Liger's kernels, which patch the shared base in place.
        results = []
        for case, (_, peer_length) in cases.items():
            results.append(
                run_peer(
                    model,
                    tokenizer,
                    data[case],
                    steps=steps,
                    out_dir=Path(tmp) / "peer",
                    device=device,
                    tokens_per_step=per_step,
                    max_length=peer_length,
                )
            )
            results[-1].case = case
        for case, (lengths, _) in cases.items():
            adapter = "support" if case == "short rows" else "long"
            max_length = 512 if lengths is None else lengths[1]
            job = recipe_job(
                project,
                adapter,
                [
                    "lora.modules_to_save=[]",
                    "train.learning_rate=2e-4",
                    f"train.max_tokens_per_batch={per_step}",
                    f"train.max_length={max_length}",
                ],
                steps,
            )
            results.append(run_recipe(project, job, bases, steps=steps, device=device))
            results[-1].case = case
        results.sort(key=lambda r: (r.case != "short rows", not r.pipeline.startswith("adapterctl")))
        # The naive run computes in fp16, as the guide's BitsAndBytesConfig says, after PEFT's upcast.
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        set_compute_dtype(model, torch.float16 if device == "cuda" else torch.float32)
        naive = run_naive(
            model, tokenizer, short, steps=steps, out_dir=Path(tmp) / "naive", device=device, fp16=device == "cuda"
        )
        results.insert(0, naive)
    for r in results:
        r.mfu = round(r.tokens_per_second * 4 * n_linear / (peak_tflops * 1e12), 4)

    total = time.perf_counter() - started
    gpu = torch.cuda.get_device_name() if device == "cuda" else "cpu (smoke)"
    verdict = acceptance(results)
    doc = json.dumps(
        {
            "device": gpu,
            "smoke": args.smoke,
            "shape": shape,
            "matmul_tflops": round(peak_tflops, 3),
            "linear_params": n_linear,
            "tokens_per_step": per_step,
            "build_seconds": round(built, 1),
            "total_seconds": round(total, 1),
            "measurements": [r.to_dict() for r in results],
            "acceptance": verdict,
        },
        indent=2,
    )
    if args.json_out:
        args.json_out.write_text(doc + "\n")
    if args.json:
        print(doc)
        return
    print(
        f"{gpu}; random {'7B' if not args.smoke else 'smoke'}-shape Llama, nf4 + double quant; {steps} steps "
        f"each, {per_step} tokens per step; matmul {peak_tflops:.0f} TFLOP/s; model built in {built:.0f}s, "
        f"total {total:.0f}s\n"
    )
    print(report(results, naive))
    if args.smoke:
        print("\nsmoke run: the numbers check the script, they measure nothing")
        return
    for case, v in verdict.items():
        print(
            f"\n{case}: recipe {v['speed_vs_peer']:.2f}x the peer (need >= 1.5), peak {v['recipe_peak_gb']} "
            f"vs {v['peer_peak_gb']} GB, recipe MFU {v['recipe_mfu']}"
        )


if __name__ == "__main__":
    main()
