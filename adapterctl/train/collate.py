"""Padding-free batches: one sequence for varlen kernels, bins for kernels that need a mask.

With a varlen kernel (flash attention, torch's varlen, flex; see attention.py) the cheapest
layout is every row of the batch end to end in one sequence (VarlenCollator). With sdpa or eager attention, transformers turns the
position-id restarts of such a sequence into a dense block-diagonal mask over the whole
batch, and attention costs (total tokens)^2: sixteen 140-token rows cost ~16x the
attention of the same rows side by side. So for those kernels the rows are laid end to end
in bins (first-fit decreasing, bin size chosen per batch, at most max_length unless one
row is longer), one bin per batch row: no padding inside or between rows, attention
bounded per bin, and padding only where a bin ends short.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

VARLEN_ATTENTION = (
    "flash_attention_2",
    "flash_attention_3",
    "kernels-community/flash-attn",
    "kernels-community/flash-attn3",
    "kernels-community/vllm-flash-attn3",
    "adapterctl_varlen",
    "adapterctl_flex",
    "adapterctl_reference",
)


def is_varlen(attn_implementation: str | None) -> bool:
    if not attn_implementation:
        return False
    return attn_implementation in VARLEN_ATTENTION or "flash" in attn_implementation


def ungroup(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a batch; token-budget batches (token_batches.py) arrive as one example holding lists of rows."""
    if examples and examples[0]["input_ids"] and isinstance(examples[0]["input_ids"][0], list):
        rows: list[dict[str, Any]] = []
        for ex in examples:
            labels = ex.get("labels") or ex["input_ids"]
            rows.extend({"input_ids": i, "labels": lab} for i, lab in zip(ex["input_ids"], labels, strict=True))
        return rows
    return examples


@dataclass
class Ungrouped:
    """Any collator, fed the rows of token-budget batches."""

    inner: Any

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        return self.inner(ungroup(examples))


@dataclass
class VarlenCollator:
    """Every row of the batch end to end in one sequence, with the row boundaries a varlen
    kernel takes (cu_seq_lens_*, max_length_*: transformers' names, passed through to attention)."""

    pad_token_id: int

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        rows = ungroup(examples)
        lengths = [len(ex["input_ids"]) for ex in rows]
        input_ids = torch.tensor([t for ex in rows for t in ex["input_ids"]], dtype=torch.long)[None]
        labels = torch.tensor([t for ex in rows for t in ex.get("labels", ex["input_ids"])], dtype=torch.long)[None]
        cu = torch.tensor([0, *itertools.accumulate(lengths)], dtype=torch.int32)
        labels[0, cu[:-1].long()] = -100  # a row's first token is never predicted from the row before
        position_ids = torch.cat([torch.arange(n) for n in lengths])[None]
        longest = max(lengths)
        return {
            "input_ids": input_ids,
            "labels": labels,
            "position_ids": position_ids,
            "cu_seq_lens_q": cu,
            "cu_seq_lens_k": cu,
            "max_length_q": longest,
            "max_length_k": longest,
        }


def first_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices grouped into bins whose lengths sum to at most `capacity` (a longer row gets its own)."""
    bins: list[list[int]] = []
    loads: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        for b, load in enumerate(loads):
            if load + lengths[i] <= capacity:
                bins[b].append(i)
                loads[b] += lengths[i]
                break
        else:
            bins.append([i])
            loads.append(lengths[i])
    return bins


def best_bins(lengths: list[int], capacity: int) -> tuple[list[list[int]], int]:
    """Bins for one batch, and their width, with the fewest cells (bins x width) to compute.

    Candidate bin sizes are the longest row, twice that, and `capacity`: rows of similar
    length fill bins of twice the longest far better than bins of a fixed max_length.
    """
    longest = max(lengths)
    best: tuple[int, int, list[list[int]]] | None = None
    for size in sorted({longest, min(2 * longest, max(capacity, longest)), max(capacity, longest)}):
        bins = first_fit_decreasing(lengths, size)
        width = max(sum(lengths[i] for i in members) for members in bins)
        if best is None or len(bins) * width < best[0] * best[1]:
            best = (len(bins), width, bins)
    assert best is not None
    return best[2], best[1]


@dataclass
class BinnedPaddingFreeCollator:
    """Rows end to end within bins of `capacity` tokens; position ids restart at every row."""

    pad_token_id: int
    capacity: int

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        examples = ungroup(examples)
        ids = [list(ex["input_ids"]) for ex in examples]
        labels = [list(ex.get("labels", ex["input_ids"])) for ex in examples]
        bins, width = best_bins([len(x) for x in ids], self.capacity)
        input_ids = torch.full((len(bins), width), self.pad_token_id, dtype=torch.long)
        label_ids = torch.full((len(bins), width), -100, dtype=torch.long)
        # Padding at a bin's end continues the last row's positions: causal attention keeps
        # real tokens from seeing it, and its labels are -100.
        position_ids = torch.arange(width, dtype=torch.long).repeat(len(bins), 1)
        for b, members in enumerate(bins):
            cursor = 0
            for i in members:
                n = len(ids[i])
                input_ids[b, cursor : cursor + n] = torch.tensor(ids[i])
                label_ids[b, cursor : cursor + n] = torch.tensor(labels[i])
                label_ids[b, cursor] = -100  # a row's first token is never predicted from the row before
                position_ids[b, cursor : cursor + n] = torch.arange(n)
                cursor += n
            if cursor < width:
                position_ids[b, cursor:] = torch.arange(
                    position_ids[b, cursor - 1] + 1, position_ids[b, cursor - 1] + 1 + width - cursor
                )
        return {"input_ids": input_ids, "labels": label_ids, "position_ids": position_ids}
