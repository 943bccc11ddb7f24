"""Padding-free batches for attention kernels that need a mask.

With a varlen kernel (flash attention) the cheapest layout is TRL's: every row of the
batch end to end in one sequence. With sdpa or eager attention, transformers turns the
position-id restarts of such a sequence into a dense block-diagonal mask over the whole
batch, and attention costs (total tokens)^2: sixteen 140-token rows cost ~16x the
attention of the same rows side by side. So for those kernels the rows are laid end to end
in bins (first-fit decreasing, bin size chosen per batch, at most max_length unless one
row is longer), one bin per batch row: no padding inside or between rows, attention
bounded per bin, and padding only where a bin ends short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VARLEN_ATTENTION = ("flash_attention_2", "flash_attention_3", "kernels-community/flash-attn",
                    "kernels-community/flash-attn3", "kernels-community/vllm-flash-attn3")


def is_varlen(attn_implementation: str | None) -> bool:
    return bool(attn_implementation) and (attn_implementation in VARLEN_ATTENTION or "flash" in attn_implementation)


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
                input_ids[b, cursor:cursor + n] = torch.tensor(ids[i])
                label_ids[b, cursor:cursor + n] = torch.tensor(labels[i])
                label_ids[b, cursor] = -100  # a row's first token is never predicted from the row before
                position_ids[b, cursor:cursor + n] = torch.arange(n)
                cursor += n
            if cursor < width:
                position_ids[b, cursor:] = torch.arange(position_ids[b, cursor - 1] + 1,
                                                        position_ids[b, cursor - 1] + 1 + width - cursor)
        return {"input_ids": input_ids, "labels": label_ids, "position_ids": position_ids}
