"""Preparing a quantised base for training without a float32 residual stream.

PEFT's `prepare_model_for_kbit_training` freezes the base and casts every 16-bit
parameter (embeddings, norms, lm_head) to float32. Under bf16 compute that makes the
embeddings emit float32, so the whole residual stream, every norm output and every
activation kept for the backward pass is float32: on a 7B nf4 base it cost a third of the
speed and 22 GB (issue 13). What the upcast buys is stable normalisation, and that only
needs the norms to *compute* in float32: transformers' RMSNorm classes already do
internally; other norms are wrapped to do so. Input gradients for reentrant gradient
checkpointing are switched on by the recipe when checkpointing is on.

With float32 compute (CPUs) the upcast changes nothing, and PEFT's function still runs
there, so CPU training is exactly what it was. `ADAPTERCTL_KBIT_UPCAST=1` restores the
upcast everywhere, to compare.
"""

from __future__ import annotations

import inspect
import os
import types

UPCAST_ENV = "ADAPTERCTL_KBIT_UPCAST"


def prepare_kbit(model, compute_dtype: str) -> str:
    """Freeze `model` for k-bit LoRA training; returns the card's description of the precision."""
    if compute_dtype == "float32" or os.environ.get(UPCAST_ENV, "") not in ("", "0"):
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        return "float32 residual stream (PEFT prepare_model_for_kbit_training)"
    for param in model.parameters():
        param.requires_grad_(False)
    wrapped = norms_in_float32(model)
    return f"{compute_dtype} residual stream; norms compute in float32" + (f" ({wrapped} wrapped)" if wrapped else "")


def computes_in_float32(norm) -> bool:
    """Whether a norm module's own forward upcasts (transformers' RMSNorm classes do)."""
    try:
        source = inspect.getsource(type(norm).forward)
    except (OSError, TypeError):
        return False
    return "float32" in source or ".float()" in source


def norms_in_float32(model) -> int:
    """Make every normalisation layer that does not upcast by itself compute in float32 and
    return its input's dtype; returns how many were wrapped."""
    import torch

    count = 0
    for module in model.modules():
        name = type(module).__name__
        if not ("Norm" in name and hasattr(module, "weight")) or computes_in_float32(module):
            continue
        if isinstance(module, torch.nn.LayerNorm):
            module.forward = types.MethodType(_layer_norm_fp32, module)
        else:
            module.forward = types.MethodType(_upcast_forward(type(module).forward), module)
        count += 1
    return count


def _layer_norm_fp32(self, x):
    import torch.nn.functional as F

    weight = self.weight.float() if self.weight is not None else None
    bias = self.bias.float() if self.bias is not None else None
    return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).to(x.dtype)


def _upcast_forward(forward):
    def run(self, x, *args, **kwargs):
        return forward(self, x.float(), *args, **kwargs).to(x.dtype)

    return run
