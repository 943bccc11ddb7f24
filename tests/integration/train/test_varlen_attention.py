"""Varlen attention on the CPU: packed rows give the logits of separate rows, through the
kernels registered with transformers (flex_attention runs on the CPU; torch's varlen kernel
is CUDA-only, so its packed-layout plumbing is checked with the row-by-row reference kernel
and the kernel itself in tests/gpu)."""

from __future__ import annotations

import pytest
import torch

from adapterctl.train import attention, batching, collate


@pytest.fixture
def tiny(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    assert model.config.num_key_value_heads < model.config.num_attention_heads, "GQA is exercised"
    return model


def _rows(*lengths: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    rows = []
    for n in lengths:
        ids = torch.randint(6, 1000, (n,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": [-100, -100] + ids[2:]})
    return rows


@pytest.mark.parametrize("implementation", [attention.FLEX, attention.REFERENCE])
def test_packed_logits_equal_separate_logits(tiny, implementation: str) -> None:
    previous = attention.use(tiny, implementation)
    try:
        apart, diff = batching.rows_stay_apart(tiny)
        assert apart and diff < 1e-5
        rows = _rows(7, 12, 5, 9)
        batch = collate.VarlenCollator(pad_token_id=0)(rows)
        with torch.no_grad():
            packed = tiny(**batch, use_cache=False).logits[0]
            alone = torch.cat([tiny(input_ids=torch.tensor([r["input_ids"]]), use_cache=False).logits[0] for r in rows])
        assert torch.allclose(packed, alone, atol=1e-4)
    finally:
        attention.use(tiny, previous)
    assert tiny.config._attn_implementation == previous


def test_a_kernel_that_ignores_boundaries_is_caught_by_the_probe(tiny, monkeypatch) -> None:
    exact = attention.reference_kernel

    def one_row(q, k, v, cu, longest, scale):  # treats the whole sequence as one row
        whole = torch.tensor([0, q.shape[0]], dtype=torch.int32)
        return exact(q, k, v, whole, q.shape[0], scale)

    monkeypatch.setattr(attention, "reference_kernel", one_row)
    attention.use(tiny, attention.REFERENCE)
    apart, diff = batching.rows_stay_apart(tiny)
    assert not apart and diff > 0.05
    record = batching.resolve("padding_free", tiny)
    assert record["used"] == "padded" and "would let rows attend" in record["notice"]

    # The recipe's choice then falls back to the model's own attention over bins.
    attention.use(tiny, "sdpa")
    monkeypatch.setenv(attention.ATTENTION_ENV, "reference")
    record, chosen = attention.prepare(tiny, "padding_free", "cpu", "float32")
    assert chosen["implementation"] == "sdpa" and "failed the rows-apart probe" in chosen["why"]
    assert record["used"] == "padding_free" and record["verified"] is True
