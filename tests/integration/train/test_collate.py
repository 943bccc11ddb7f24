"""Padding-free batches in bins: the layout, and the same loss as rows laid in one sequence."""

from __future__ import annotations

import pytest
import torch

from adapterctl.train.collate import BinnedPaddingFreeCollator


@pytest.mark.slow  # loads transformers and TRL: seconds, not milliseconds
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
        losses = [
            model(input_ids=b["input_ids"], position_ids=b["position_ids"], labels=b["labels"], use_cache=False).loss
            for b in (flat, binned)
        ]
    assert torch.allclose(losses[0], losses[1], atol=1e-5)
