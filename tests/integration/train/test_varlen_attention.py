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


def test_boundaries_come_from_position_id_restarts() -> None:
    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]])
    cu, longest = attention.boundaries(pos, 1, 9, "cpu")
    assert cu.tolist() == [0, 3, 5, 9] and cu.dtype == torch.int32 and longest == 4
    # Two batch rows of 4: each batch row starts a row even when its positions continue.
    cu, longest = attention.boundaries(torch.tensor([[0, 1, 2, 3], [4, 5, 0, 1]]), 2, 4, "cpu")
    assert cu.tolist() == [0, 4, 6, 8] and longest == 4


def test_reference_kernel_equals_a_dense_block_diagonal_mask() -> None:
    g = torch.Generator().manual_seed(1)
    q = torch.randn(11, 4, 8, generator=g)
    k, v = torch.randn(11, 2, 8, generator=g), torch.randn(11, 2, 8, generator=g)
    cu = torch.tensor([0, 3, 9, 11], dtype=torch.int32)
    doc = torch.repeat_interleave(torch.arange(3), cu[1:] - cu[:-1])
    allowed = (doc[:, None] == doc[None, :]) & torch.ones(11, 11, dtype=torch.bool).tril()
    dense = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=allowed, enable_gqa=True).transpose(0, 1)
    assert torch.allclose(attention.reference_kernel(q, k, v, cu, 6, None), dense, atol=1e-5)


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
            alone = torch.cat([tiny(input_ids=torch.tensor([r["input_ids"]]), use_cache=False).logits[0]
                               for r in rows])
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


def test_varlen_collator_layout() -> None:
    batch = collate.VarlenCollator(pad_token_id=0)(
        [{"input_ids": [1, 2, 3], "labels": [1, 2, 3]}, {"input_ids": [4, 5], "labels": [-100, 5]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 5]]
    assert batch["labels"].tolist() == [[-100, 2, 3, -100, 5]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 5] and batch["max_length_q"] == 3


def test_choice_per_device(monkeypatch) -> None:
    monkeypatch.delenv(attention.ATTENTION_ENV, raising=False)
    assert attention.choose("cpu", "float32")[0] is None, "the CPU keeps binned sdpa"
    chosen, why = attention.choose("cuda", "bfloat16")
    assert chosen in ("flash_attention_2", attention.VARLEN) and why
    monkeypatch.setenv(attention.ATTENTION_ENV, "reference")
    assert attention.choose("cpu", "float32")[0] == attention.REFERENCE
    monkeypatch.setenv(attention.ATTENTION_ENV, "flex")
    assert attention.choose("cuda", "bfloat16")[0] == attention.FLEX
    from adapterctl.errors import ManifestError

    with pytest.raises(ManifestError, match="no backward pass on the CPU"):
        attention.choose("cpu", "float32")
    monkeypatch.setenv(attention.ATTENTION_ENV, "nope")
    with pytest.raises(ManifestError, match="ADAPTERCTL_ATTENTION"):
        attention.choose("cpu", "float32")
