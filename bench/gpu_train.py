"""GPU throughput and peak memory of adapterctl's QLoRA recipe against the naive pipeline, on
a randomly initialised model of a real 7B shape (Llama-2-7B: hidden 4096, 32 layers, MLP
11008, vocab 32000), in the same run. No hub access: the model is built on the GPU itself
(no CPU copy) and quantised to nf4 in place.

    python bench/gpu_train.py [--steps 10] [--json]        # on a CUDA machine, ~3-5 min on an H200
    python bench/gpu_train.py --smoke                       # tiny shape, any device: checks the script

Both pipelines train LoRA r=16 on the same nf4 base and the same rows (the example project's
`support` adapter, rendered through its template and tokenised by the tiny tokenizer). The
naive pipeline is the LoRA guide's: rows padded to 1024, batch 1 x grad-accum 8, fp16, plain
Trainer. The recipe runs as `adapterctl train` does on a GPU (bf16 compute, padding-free
batches of 16 rows). Reported: real (non-pad) tokens/s over the steps after the first, and
peak GPU memory during training.
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

SHAPE_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=32, vocab_size=32000, max_position_embeddings=4096)
SHAPE_SMOKE = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=4, vocab_size=1024, max_position_embeddings=1024)


def build_nf4_model(shape: dict, device: str, compute_dtype):
    """A random Llama of `shape`, created directly on `device` in bf16, its decoder linears
    replaced by bitsandbytes nf4 layers (double quantisation), one at a time."""
    import bitsandbytes as bnb
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**shape, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                         use_cache=False)
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
                q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                      compute_dtype=compute_dtype, compress_statistics=True, quant_type="nf4",
                                      device="meta")
                q.weight = bnb.nn.Params4bit(child.weight.data, requires_grad=False, compress_statistics=True,
                                             quant_type="nf4", module=q).to(device)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="optimiser steps measured per pipeline")
    parser.add_argument("--smoke", action="store_true", help="tiny shape, 2 steps, any device")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch
    from peft import prepare_model_for_kbit_training
    from train_common import naive_rows, recipe_job, report, run_naive, run_recipe

    from adapterctl import modeling, tiny
    from adapterctl.project import Project
    from adapterctl.train.quiet import quiet
    from adapterctl.train.recipe import BaseCache

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" and not args.smoke:
        sys.exit("bench/gpu_train.py needs a CUDA device (use --smoke to check the script elsewhere)")
    shape, steps = (SHAPE_SMOKE, 2) if args.smoke else (SHAPE_7B, args.steps)
    compute = torch.bfloat16 if device == "cuda" else torch.float32
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, quiet():
        import shutil

        from adapterctl import assets

        root = Path(tmp) / "demo"
        shutil.copytree(assets.example_dir(), root)
        tiny.build_tiny_model(root / "models/tiny-base")  # only its tokenizer and folder are used
        project = Project(root)
        tokenizer = tiny.build_tokenizer()
        model = build_nf4_model(shape, device, compute)
        built = time.perf_counter() - started
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)

        spec_job = recipe_job(project, "support", ["lora.modules_to_save=[]", "train.learning_rate=2e-4"], steps)
        spec = spec_job.adapter_spec()
        rows = naive_rows(project.root, spec.data, spec.template)

        # The naive run computes in fp16, as the guide's BitsAndBytesConfig says.
        set_compute_dtype(model, torch.float16 if device == "cuda" else torch.float32)
        naive = run_naive(model, tokenizer, rows, steps=steps, out_dir=Path(tmp) / "naive", device=device,
                          fp16=device == "cuda")
        set_compute_dtype(model, compute)

        class Preloaded(BaseCache):
            """The model built above stands in for the manifest's base."""

            def get(self, project, job, dev, device_index):
                return self.loaded

        bases = Preloaded()
        dtype_name = "bfloat16" if compute == torch.bfloat16 else "float32"
        bases.loaded = modeling.LoadedBase(
            model, tokenizer,
            modeling.BaseKey("random-7b", None, "nf4", True, dtype_name, dtype_name, device, False),
            modeling.BaseInfo(model="random-7b-shape", revision=None, source="local", commit=None, dtype=dtype_name,
                              device=device, quantization={"requested": "nf4", "used": "nf4"},
                              attn_implementation=model.config._attn_implementation),
        )
        results = [naive]
        for batching in ("padding_free", "padded"):
            job = recipe_job(project, "support", ["lora.modules_to_save=[]", "train.learning_rate=2e-4",
                                                  f'train.batching="{batching}"'], steps)
            results.append(run_recipe(project, job, bases, steps=steps, device=device))

    total = time.perf_counter() - started
    gpu = torch.cuda.get_device_name() if device == "cuda" else "cpu (smoke)"
    if args.json:
        print(json.dumps({"device": gpu, "shape": shape, "build_seconds": round(built, 1),
                          "total_seconds": round(total, 1), "measurements": [r.to_dict() for r in results]},
                         indent=2))
        return
    print(f"{gpu}; random {'7B' if not args.smoke else 'smoke'}-shape Llama, nf4 + double quant; "
          f"{steps} steps each; model built in {built:.0f}s, total {total:.0f}s\n")
    print(report(results, naive))


if __name__ == "__main__":
    main()
