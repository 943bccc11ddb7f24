"""`--into dequantized`: merge into dequant(quant(W)), the weights a QLoRA adapter saw.

A QLoRA adapter learnt its update against the rounded 4-bit (or int8) base, so adding it
to the exact base is slightly off; adding it to the same rounding is what training saw.
Which weights bitsandbytes rounds is transformers' choice (every nn.Linear but the output
head and tied weights), read from a skeleton of the model on the meta device: no memory.
The rounding itself is bitsandbytes' own quantise/dequantise, with the training's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.versions.card import Quantization

BLOCKSIZE = 64  # bitsandbytes' Params4bit default, what from_pretrained quantises with


def quantised_weights(base_dir: Path) -> set[str]:
    """Names of the weights `from_pretrained(..., quantization_config=bnb)` would quantise."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.quantizers.base import get_keys_to_not_convert
    from transformers.quantizers.quantizers_utils import should_convert_module

    from adapterctl.runtime.quiet import quiet

    with quiet():
        config = AutoConfig.from_pretrained(str(base_dir))
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(config)
    keep = get_keys_to_not_convert(skeleton)
    return {
        f"{name}.weight"
        for name, module in skeleton.named_modules()
        if type(module) is torch.nn.Linear and should_convert_module(name, keep)
    }


def roundtrip(record: Quantization, weight_dtype: str = "float32") -> Callable[[Any], Any]:
    """W ↦ dequant(quant(W)) as bitsandbytes did it in training (`record`: the card's quantization;
    `weight_dtype`: the dtype the base was loaded in before quantising)."""
    import torch

    from adapterctl.runtime.quiet import quiet

    with quiet():
        import bitsandbytes.functional as bnbf
    kind = record.used
    if kind == "int8":

        def int8(w):
            cb, scb, _ = bnbf.int8_vectorwise_quant(w.to(torch.float16).contiguous())
            return cb.float() * (scb.float().unsqueeze(1) / 127.0)

        return int8
    if kind not in ("nf4", "fp4"):
        raise UsageError(f"--into dequantized: unknown training quantisation {kind!r}")
    double = record.double_quant is not False  # 4-bit records always say; True is the default
    loaded = getattr(torch, weight_dtype if weight_dtype in ("float32", "float16", "bfloat16") else "float32")

    def four_bit(w):
        packed, state = bnbf.quantize_4bit(
            w.to(loaded).contiguous(), blocksize=BLOCKSIZE, compress_statistics=double, quant_type=kind
        )
        return bnbf.dequantize_4bit(packed, state)

    return four_bit


def rounding(base_dir: Path, checkpoint, record: Quantization, weight_dtype: str):
    """(weight names to round, the round trip) for streaming.merge_checkpoint."""
    names = quantised_weights(base_dir) & set(checkpoint.tensors)
    if not names:
        raise UsageError(f"--into dequantized: no weight of {base_dir} would be quantised by bitsandbytes")
    return names, roundtrip(record, weight_dtype)
