"""The CUDA kernels behind padding-free training: torch's varlen flash kernel and compiled
flex_attention equal the exact row-by-row reference, forward and backward, in bf16 with GQA.

Run on a CUDA machine with `pytest -m gpu tests/gpu`; skipped elsewhere.
"""

from __future__ import annotations

import pytest
import torch

from adapterctl.train import attention

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def _qkv(heads: int = 8, kv_heads: int = 2, dim: int = 64):
    g = torch.Generator(device="cuda").manual_seed(0)
    lengths = [37, 130, 1, 256, 77]
    total = sum(lengths)
    q = torch.randn(total, heads, dim, device="cuda", generator=g, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(total, kv_heads, dim, device="cuda", generator=g, dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(total, kv_heads, dim, device="cuda", generator=g, dtype=torch.bfloat16, requires_grad=True)
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32, device="cuda")
    return q, k, v, cu, max(lengths)


def _forward_backward(kernel, q, k, v, cu, longest):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = kernel(q, k, v, cu, longest, q.shape[-1] ** -0.5)
    out.float().square().sum().backward()
    return out.float(), [t.grad.float() for t in (q, k, v)]


@pytest.mark.skipif(not attention.torch_varlen_available(), reason="torch has no nn.attention.varlen")
def test_torch_varlen_kernel_equals_the_reference() -> None:
    q, k, v, cu, longest = _qkv()
    ref_out, ref_grads = _forward_backward(attention.reference_kernel, q, k, v, cu, longest)
    out, grads = _forward_backward(attention.torch_varlen_kernel, q, k, v, cu, longest)
    assert torch.allclose(out, ref_out, atol=2e-2, rtol=2e-2)
    for got, want in zip(grads, ref_grads, strict=True):
        assert (got - want).abs().max() <= 5e-2 * want.abs().max()


def test_recipe_kernel_choice_keeps_rows_apart_on_a_bf16_model(tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM

    from adapterctl.train import batching

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).cuda()
    chosen, _ = attention.choose("cuda", "bfloat16")
    for implementation in {chosen, attention.FLEX}:
        previous = attention.use(model, implementation)
        try:
            apart, diff = batching.rows_stay_apart(model)
            assert apart, f"{implementation}: packed logits differ by {diff}"
        finally:
            attention.use(model, previous)
