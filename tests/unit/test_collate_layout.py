"""Padding-free batches in bins: how rows are packed and laid out (no model involved)."""

from __future__ import annotations

from adapterctl.train.collate import (
    BinnedPaddingFreeCollator,
    first_fit_decreasing,
    is_varlen,
)


def test_first_fit_decreasing_fills_bins_up_to_capacity() -> None:
    assert first_fit_decreasing([5, 3, 4, 2, 9], capacity=8) == [[4], [0, 1], [2, 3]]
    assert first_fit_decreasing([12], capacity=8) == [[0]], "a row longer than a bin gets its own"
    assert is_varlen("flash_attention_2") and not is_varlen("sdpa") and not is_varlen(None)


def test_binned_batch_layout() -> None:
    rows = [
        {"input_ids": [1, 2, 3], "labels": [-100, 2, 3]},
        {"input_ids": [4, 5], "labels": [4, 5]},
        {"input_ids": [6, 7, 8, 9], "labels": [6, 7, 8, 9]},
    ]
    batch = BinnedPaddingFreeCollator(pad_token_id=0, capacity=5)(rows)
    assert batch["input_ids"].tolist() == [[6, 7, 8, 9, 0], [1, 2, 3, 4, 5]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 0, 1]]
    assert batch["labels"].tolist() == [[-100, 7, 8, 9, -100], [-100, 2, 3, -100, 5]]
    assert "attention_mask" not in batch, "a mask would hide the row boundaries from the attention"
