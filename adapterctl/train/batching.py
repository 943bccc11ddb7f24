"""How rows share a batch, and proof that the choice is correct on this model.

Padding-free and packed batching put several rows into one sequence and rely on the
attention implementation to keep them apart (via position ids that restart at 0). Flash
attention does; transformers' sdpa/eager masks do too when no KV cache is in use. Rather
than trust a list of implementations, `resolve` runs the model once on two packed rows and
once on each alone: the logits must agree, or the recipe falls back to padded batches and
says so in the card. Sequences never attend across rows silently.
"""

from __future__ import annotations

from typing import Any

# Two short, distinct rows of token ids (any vocabulary has these ids).
_ROW_A = list(range(5, 17))
_ROW_B = list(range(23, 31))


def rows_stay_apart(model) -> tuple[bool, float]:
    """(packed logits equal separate logits, the relative difference)."""
    import torch

    vocab = model.get_input_embeddings().num_embeddings
    a = [i % vocab for i in _ROW_A]
    b = [i % vocab for i in _ROW_B]
    dev = model.get_input_embeddings().weight.device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            packed = model(
                input_ids=torch.tensor([a + b], device=dev),
                position_ids=torch.tensor([list(range(len(a))) + list(range(len(b)))], device=dev),
                use_cache=False,
            ).logits.float()
            alone_a = model(input_ids=torch.tensor([a], device=dev), use_cache=False).logits.float()
            alone_b = model(input_ids=torch.tensor([b], device=dev), use_cache=False).logits.float()
    finally:
        model.train(was_training)
    separate = torch.cat([alone_a, alone_b], dim=1)
    scale = separate.abs().max().item() + 1e-6
    diff = (packed - separate).abs().max().item() / scale
    return diff < _tolerance(packed.dtype, model), diff


def _tolerance(_dtype: Any, model) -> float:
    # 16-bit matmuls round differently for different shapes (about 1% here); leaking rows
    # differ by the size of the logits themselves (about 100%).
    return 5e-2 if _computes_in_16_bit(model) else 1e-3


def _computes_in_16_bit(model) -> bool:
    import torch

    half = (torch.float16, torch.bfloat16)
    if any(p.dtype in half for p in model.parameters()):
        return True
    # bitsandbytes layers keep packed weights and compute in their own dtype
    return any(getattr(m, "compute_dtype", None) in half for m in model.modules())


def resolve(requested: str, model) -> dict[str, Any]:
    """The card's batching record: what was asked, what is used, and why if they differ."""
    record: dict[str, Any] = {
        "requested": requested,
        "used": requested,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
    }
    if requested == "padded":
        return record
    apart, diff = rows_stay_apart(model)
    record["verified"] = apart
    if not apart:
        record.update(
            used="padded",
            notice=f"{requested} batching would let rows attend to each other with attention "
            f"implementation {record['attn_implementation']!r} (packed logits differ by {diff:.2g}); "
            "trained with padded batches instead",
        )
    return record
