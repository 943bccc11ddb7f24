"""Attention that keeps packed rows apart by their boundaries instead of a dense mask.

Padding-free batches lay rows end to end with position ids restarting at 0 for each row.
With sdpa, transformers turns those restarts into a dense block-diagonal mask: attention
then costs (tokens in the sequence)^2 and bins have to be padded (see collate.py). A varlen
kernel takes the row boundaries (`cu_seqlens`) instead and costs only sum(row length^2),
so one batch can be every row end to end with no padding at all.

Kernels, registered with transformers' AttentionInterface under their own names:
  adapterctl_varlen     torch.nn.attention.varlen.varlen_attn (flash kernels; CUDA, 16-bit)
  adapterctl_flex       flex_attention with a document BlockMask (compiled on CUDA, eager on CPU)
  adapterctl_reference  sdpa row by row: slow, but exact everywhere; the correctness oracle
and transformers' own flash_attention_2 when the flash-attn package is installed.
`choose` picks one per device; on the CPU the binned sdpa path stays (no kernel wins there).
`ADAPTERCTL_ATTENTION` (varlen | flex | reference | flash_attention_2 | sdpa) overrides the choice.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import os
from typing import Any

ATTENTION_ENV = "ADAPTERCTL_ATTENTION"
VARLEN, FLEX, REFERENCE = "adapterctl_varlen", "adapterctl_flex", "adapterctl_reference"
BY_SHORT_NAME = {
    "varlen": VARLEN,
    "flex": FLEX,
    "reference": REFERENCE,
    "flash_attention_2": "flash_attention_2",
    "sdpa": "sdpa",
}
OURS = (VARLEN, FLEX, REFERENCE)


# ── choosing ────────────────────────────────────────────────────────────────
def torch_varlen_available() -> bool:
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return True


def choose(device: str, compute_dtype: str) -> tuple[str | None, str]:
    """(attention implementation to train with or None to keep the model's, why)."""
    forced = os.environ.get(ATTENTION_ENV, "").strip()
    if forced:
        if forced not in BY_SHORT_NAME:
            from adapterctl.core.errors import ManifestError

            raise ManifestError(f"{ATTENTION_ENV}={forced!r}: use one of {', '.join(BY_SHORT_NAME)}")
        if forced == "flex" and device != "cuda":
            from adapterctl.core.errors import ManifestError

            raise ManifestError(
                f"{ATTENTION_ENV}=flex: flex_attention has no backward pass on the CPU; use reference there"
            )
        return BY_SHORT_NAME[forced], f"set by {ATTENTION_ENV}"
    if device != "cuda":
        return None, "CPU: sdpa over bins (varlen kernels are CUDA-only)"
    if importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2", "flash-attn is installed"
    if torch_varlen_available() and compute_dtype in ("bfloat16", "float16"):
        return VARLEN, "torch.nn.attention.varlen (flash kernels in PyTorch)"
    return FLEX, "flex_attention with a document BlockMask (no 16-bit varlen kernel here)"


def register() -> None:
    """Make our kernels known to transformers (idempotent). No mask function is registered:
    transformers then builds no mask at all for them, the row boundaries say it all."""
    from transformers import AttentionInterface

    for name, fn in ((VARLEN, varlen_forward), (FLEX, flex_forward), (REFERENCE, reference_forward)):
        AttentionInterface.register(name, fn)


def use(model, implementation: str) -> str:
    """Switch `model` to `implementation`; returns the one it had, for `use(model, previous)`."""
    if implementation in OURS:
        register()
    previous = model.config._attn_implementation
    model.set_attn_implementation(implementation)
    return previous


def prepare(model, requested_batching: str, device: str, compute_dtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Switch `model` to the kernel chosen for this device when it keeps rows apart (the probe in
    batching.resolve decides), else leave its own; returns (the batching record, the card's
    attention record). Padded batches need no row boundaries and keep the model's attention."""
    from adapterctl.train import batching

    before = model.config._attn_implementation
    chosen, why = (
        (None, "padded batches need no row boundaries")
        if requested_batching == "padded"
        else choose(device, compute_dtype)
    )
    switched = bool(chosen) and chosen != before
    if switched and chosen:
        use(model, chosen)
    record = batching.resolve(requested_batching, model)
    if switched and not record.get("verified", True):
        use(model, before)  # the kernel let rows leak: back to the model's own attention over bins
        why = f"{chosen} failed the rows-apart probe; {before} over bins instead"
        record = batching.resolve(requested_batching, model)
    return record, {
        "implementation": model.config._attn_implementation,
        "why": why,
        "loss": "TRL fused LM head: completion tokens scored in chunks, no full logits",
    }


# ── boundaries ──────────────────────────────────────────────────────────────
def boundaries(position_ids, batch: int, length: int, device) -> tuple[Any, int]:
    """(cu_seqlens int32 [rows + 1], longest row) of a [batch, length] layout flattened to one
    sequence: a row starts where the position id is 0 and at the start of each batch row."""
    import torch

    if position_ids is None:
        starts = torch.zeros(batch * length, dtype=torch.bool, device=device)
    else:
        starts = position_ids.reshape(-1).to(device) == 0
    starts = starts.clone()
    starts[::length] = True
    begin = torch.nonzero(starts).flatten()
    total = torch.tensor([batch * length], device=device)
    cu = torch.cat([begin, total]).to(torch.int32)
    return cu, int((cu[1:] - cu[:-1]).max().item())


def _cu_seqlens(query, kwargs: dict[str, Any]) -> tuple[Any, int]:
    """Boundaries from the collator (cu_seq_lens_q, max_length_q: no host sync) or the position ids."""
    b, _, s, _ = query.shape
    cu = kwargs.get("cu_seq_lens_q")
    if cu is not None and b == 1 and kwargs.get("max_length_q") is not None:
        import torch

        return cu.to(device=query.device, dtype=torch.int32), int(kwargs["max_length_q"])
    return boundaries(kwargs.get("position_ids"), b, s, query.device)


def _packed(x):
    """[batch, heads, seq, dim] → [batch * seq, heads, dim]."""
    b, h, s, d = x.shape
    return x.transpose(1, 2).reshape(b * s, h, d)


# ── kernels on the packed layout: (q, k, v [tokens, heads, dim], cu, longest, scale) → [tokens, heads, dim]
def reference_kernel(q, k, v, cu, longest: int, scale: float | None):
    """Causal sdpa over each row on its own: exact wherever sdpa runs."""
    import torch
    import torch.nn.functional as F

    out = torch.empty_like(q)
    bounds = cu.tolist()
    gqa = k.shape[1] != q.shape[1]
    for a, b in itertools.pairwise(bounds):
        rows = [t[a:b].transpose(0, 1) for t in (q, k, v)]
        query, key, value = rows
        out[a:b] = F.scaled_dot_product_attention(
            query, key, value, is_causal=True, scale=scale, enable_gqa=gqa
        ).transpose(0, 1)
    return out


def torch_varlen_kernel(q, k, v, cu, longest: int, scale: float | None):
    """torch.nn.attention.varlen.varlen_attn, causal, across the signatures torch 2.9-2.13 use."""
    import torch
    from torch.nn.attention.varlen import varlen_attn

    params = inspect.signature(varlen_attn).parameters
    kwargs: dict[str, Any] = {}
    if "scale" in params:
        kwargs["scale"] = scale
    elif scale is not None:  # torch 2.9-2.10: no scale argument, always 1/sqrt(dim)
        q = q * (scale * q.shape[-1] ** 0.5)
    if "is_causal" in params:
        kwargs["is_causal"] = True
    else:
        kwargs["window_size"] = (-1, 0)
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in params:
            kwargs["enable_gqa"] = True
        else:
            group = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    dtype = q.dtype
    if dtype not in (torch.float16, torch.bfloat16):  # flash kernels are 16-bit only
        q, k, v = (t.to(torch.bfloat16) for t in (q, k, v))
    out = varlen_attn(q, k, v, cu, cu, longest, longest, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    return out.to(dtype)


def _packed_forward(kernel, module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """The AttentionInterface contract: q/k/v [batch, heads, seq, dim] in, [batch, seq, heads, dim] out."""
    b, h, s, d = query.shape
    cu, longest = _cu_seqlens(query, kwargs)
    out = kernel(_packed(query), _packed(key), _packed(value), cu, longest, scaling)
    return out.reshape(b, s, h, d), None


def varlen_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    return _packed_forward(torch_varlen_kernel, module, query, key, value, attention_mask, scaling, dropout, **kwargs)


def reference_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    return _packed_forward(reference_kernel, module, query, key, value, attention_mask, scaling, dropout, **kwargs)


# ── flex ────────────────────────────────────────────────────────────────────
_block_masks: dict[str, Any] = {"key": None, "mask": None}


def _document_mask(cu, total: int, device):
    """A causal BlockMask that lets a token see only its own row; reused across the layers of a step."""
    import torch
    from torch.nn.attention.flex_attention import create_block_mask

    key = (tuple(cu.tolist()), total, str(device))
    if _block_masks["key"] != key:
        lengths = (cu[1:] - cu[:-1]).to(torch.long)
        doc = torch.repeat_interleave(torch.arange(len(lengths), device=device), lengths.to(device))

        def same_row_causal(b, h, q_idx, kv_idx):
            return (doc[q_idx] == doc[kv_idx]) & (q_idx >= kv_idx)

        _block_masks.update(
            key=key, mask=create_block_mask(same_row_causal, None, None, total, total, device=str(device))
        )
    return _block_masks["mask"]


_compiled: dict[str, Any] = {}


def _flex(device):
    from torch.nn.attention.flex_attention import flex_attention

    if getattr(device, "type", str(device)) != "cuda":
        return flex_attention  # eager (unfused) on CPU: for correctness tests, not speed
    if "fn" not in _compiled:
        import torch

        _compiled["fn"] = torch.compile(flex_attention, dynamic=True)
    return _compiled["fn"]


def flex_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    import warnings

    b, h, s, d = query.shape
    cu, _ = _cu_seqlens(query, kwargs)
    total = b * s
    mask = _document_mask(cu, total, query.device)

    def one_sequence(x):  # [b, heads, s, d] → [1, heads, b*s, d]
        return x.transpose(0, 1).reshape(1, x.shape[1], total, d)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        out = _flex(query.device)(
            one_sequence(query),
            one_sequence(key),
            one_sequence(value),
            block_mask=mask,
            scale=scaling,
            enable_gqa=key.shape[1] != h,
        )
    return out.reshape(h, b, s, d).permute(1, 2, 0, 3), None
