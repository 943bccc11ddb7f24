"""Padding-free batches in bins: the layout, and the same loss as rows laid in one sequence."""

from __future__ import annotations

import torch

from adapterctl.train.collate import BinnedPaddingFreeCollator, first_fit_decreasing, is_varlen


def test_first_fit_decreasing_fills_bins_up_to_capacity() -> None:
    assert first_fit_decreasing([5, 3, 4, 2, 9], capacity=8) == [[4], [0, 1], [2, 3]]
    assert first_fit_decreasing([12], capacity=8) == [[0]], "a row longer than a bin gets its own"
    assert is_varlen("flash_attention_2") and not is_varlen("sdpa") and not is_varlen(None)


def test_binned_batch_layout() -> None:
    rows = [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4, 5], "labels": [4, 5]},
            {"input_ids": [6, 7, 8, 9], "labels": [6, 7, 8, 9]}]
    batch = BinnedPaddingFreeCollator(pad_token_id=0, capacity=5)(rows)
    assert batch["input_ids"].tolist() == [[6, 7, 8, 9, 0], [1, 2, 3, 4, 5]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 0, 1]]
    assert batch["labels"].tolist() == [[-100, 7, 8, 9, -100], [-100, 2, 3, -100, 5]]
    assert "attention_mask" not in batch, "a mask would hide the row boundaries from the attention"


def test_binned_and_flat_layouts_give_the_same_loss(tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    g = torch.Generator().manual_seed(0)
    rows = []
    for n in (7, 12, 5, 9, 3, 11):
        ids = torch.randint(6, 1000, (n,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": [-100, -100] + ids[2:]})
    flat = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(rows)
    binned = BinnedPaddingFreeCollator(pad_token_id=0, capacity=16)(rows)
    assert binned["input_ids"].shape[0] > 1
    with torch.no_grad():
        losses = [model(input_ids=b["input_ids"], position_ids=b["position_ids"], labels=b["labels"],
                        use_cache=False).loss for b in (flat, binned)]
    assert torch.allclose(losses[0], losses[1], atol=1e-5)
