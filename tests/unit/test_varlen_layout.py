"""Row boundaries for varlen attention: cu_seqlens from position ids, the exact reference
kernel against a dense block-diagonal mask, the one-sequence collator, the per-device choice
(no model involved)."""

from __future__ import annotations

import pytest
import torch

from adapterctl.train import attention, collate


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
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=allowed, enable_gqa=True
    ).transpose(0, 1)
    assert torch.allclose(attention.reference_kernel(q, k, v, cu, 6, None), dense, atol=1e-5)


def test_varlen_collator_layout() -> None:
    batch = collate.VarlenCollator(pad_token_id=0)(
        [{"input_ids": [1, 2, 3], "labels": [1, 2, 3]}, {"input_ids": [4, 5], "labels": [-100, 5]}]
    )
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
    from adapterctl.core.errors import ManifestError

    with pytest.raises(ManifestError, match="no backward pass on the CPU"):
        attention.choose("cpu", "float32")
    monkeypatch.setenv(attention.ATTENTION_ENV, "nope")
    with pytest.raises(ManifestError, match="ADAPTERCTL_ATTENTION"):
        attention.choose("cpu", "float32")
