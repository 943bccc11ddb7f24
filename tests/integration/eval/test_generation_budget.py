"""An eval generation budget past the base's context (issue 17): refused by name before any
generation, and `generate` never asks the model for more than its context holds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError
from adapterctl.evaluation import generate, runner


def _spec(tmp_path: Path, budget: int) -> manifest.AdapterSpec:
    (tmp_path / "d.jsonl").write_text('{"instruction": "a", "output": "b"}\n')
    (tmp_path / "adapterctl.toml").write_text(
        f'[base]\nmodel = "m"\n\n[adapters.support]\ndata = "d.jsonl"\n\n'
        f"[adapters.support.eval]\nmax_new_tokens = {budget}\n"
    )
    return manifest.load(tmp_path / "adapterctl.toml").adapter("support")


def test_a_budget_at_or_over_the_context_is_refused_by_name(tmp_path, tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    context = generate.context_length(model)
    assert context == 1024
    with pytest.raises(ManifestError, match="eval.max_new_tokens of 'support' is 5000, but the base model reads"):
        runner.check_budget(_spec(tmp_path, 5000), context)
    runner.check_budget(_spec(tmp_path, 1023), context)  # room for a one-token prompt


@pytest.mark.slow
def test_generation_stays_inside_the_context(tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model.config.max_position_embeddings = 48  # a short context keeps the run short
    model.generation_config.eos_token_id = None  # never stop early: the budget is what ends it
    asked = []
    real = model.generate

    def recording(**kwargs):  # the real generate, remembering what it was asked for
        out = real(**kwargs)
        asked.append((kwargs["input_ids"].shape[1], out.shape[1]))
        return out

    model.generate = recording
    long_prompt = "word " * 300
    started = time.monotonic()
    [out] = generate.generate(model, tokenizer, [long_prompt], max_new_tokens=10_000_000, batch_size=1, max_length=4096)
    assert time.monotonic() - started < 60
    [(prompt_tokens, total)] = asked
    assert out and prompt_tokens >= 1 and total <= 48, asked
