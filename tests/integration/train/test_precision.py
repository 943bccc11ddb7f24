"""Under 16-bit compute the quantised base keeps a 16-bit residual stream (no blanket float32
upcast), its norms still compute in float32, and the loss curve matches today's upcast path."""

from __future__ import annotations

import pytest
import torch

from adapterctl.runtime import precision


def test_norms_compute_in_float32_and_return_the_input_dtype() -> None:
    norm = torch.nn.LayerNorm(8).to(torch.bfloat16)
    model = torch.nn.Sequential(norm)
    assert precision.norms_in_float32(model) == 1
    x = (torch.randn(3, 8) * 300 + 1000).to(torch.bfloat16)  # large offset: bf16 variance would be wrong
    out = model(x)
    exact = torch.nn.functional.layer_norm(x.float(), (8,))
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), exact, atol=2e-2)


def test_transformers_rms_norms_are_left_alone(tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    norms = [m for m in model.modules() if type(m).__name__.endswith("RMSNorm")]
    assert norms and all(precision.computes_in_float32(m) for m in norms)
    assert precision.norms_in_float32(model) == 0


def _bf16_base(project) -> None:
    path = project.manifest_path
    path.write_text(path.read_text().replace('dtype = "auto"', 'dtype = "bfloat16"', 1))


@pytest.mark.slow
def test_no_upcast_keeps_bf16_and_the_same_loss_curve(project, train_unregistered, monkeypatch) -> None:
    """Today's path (PEFT's upcast) against the lean one on the tiny nf4 base with bf16 compute."""
    _bf16_base(project)
    steps = ['train.compute_dtype="bfloat16"', "train.max_steps=12", "train.eval_steps=6", "train.learning_rate=2e-3"]
    monkeypatch.setenv(precision.UPCAST_ENV, "1")
    [upcast] = train_unregistered("support", overrides=steps)
    monkeypatch.delenv(precision.UPCAST_ENV)
    [lean] = train_unregistered("support", overrides=steps)
    assert upcast.summary["precision"].startswith("float32 residual stream")
    assert lean.summary["precision"].startswith("bfloat16 residual stream")

    def losses(outcome):
        return [p["loss"] for p in outcome.summary["history"] if "loss" in p]

    a, b = losses(upcast), losses(lean)
    assert len(a) == len(b) == 12
    assert a[-1] < a[0] and b[-1] < b[0], "both learn"
    worst = max(abs(x - y) / x for x, y in zip(a, b, strict=True))
    assert worst < 0.01, f"train loss curves differ by up to {worst:.1%}: {a} vs {b}"
    va, vb = upcast.summary["val_loss"]["final"], lean.summary["val_loss"]["final"]
    assert abs(va - vb) / va < 0.03


def test_the_lean_preparation_keeps_16_bit_weights(tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    assert precision.prepare_kbit(model, "bfloat16").startswith("bfloat16")
    assert all(p.dtype == torch.bfloat16 and not p.requires_grad for p in model.parameters())
    hidden = model(input_ids=torch.tensor([[5, 6, 7]]), output_hidden_states=True).hidden_states
    assert hidden[0].dtype == torch.bfloat16, "the residual stream stays 16-bit"
    upcast = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    assert precision.prepare_kbit(upcast, "float32").startswith("float32")
    assert upcast.get_input_embeddings().weight.dtype == torch.float32, "PEFT's path upcasts, as before"
