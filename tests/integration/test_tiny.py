"""The tiny offline base model: loadable, deterministic, small, usable for chat."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Nothing may reach the hub; set before transformers is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adapterctl.tiny import build_tiny_model  # noqa: E402


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tokenizer(tiny_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture(scope="module")
def model(tiny_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_dir)


def test_importing_the_module_does_not_import_torch():
    code = "import sys, adapterctl.tiny; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_writes_hf_files_under_20_mb(tiny_dir):
    names = {p.name for p in tiny_dir.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= names
    total = sum(p.stat().st_size for p in tiny_dir.iterdir())
    assert total < 20 * 1024 * 1024


def test_model_loads_as_float32_llama_and_runs_forward(tokenizer, model):
    import torch

    assert model.config.model_type == "llama"
    assert model.dtype == torch.float32
    batch = tokenizer(["How do I reset my password?"], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, batch["input_ids"].shape[1], model.config.vocab_size)
    assert torch.isfinite(logits).all()


def test_generate_produces_new_tokens(tokenizer, model):
    batch = tokenizer("Thank you for", return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > batch["input_ids"].shape[1]


def test_builds_are_byte_identical(tiny_dir, tmp_path):
    again = build_tiny_model(tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json"):
        assert sha256(again / name) == sha256(tiny_dir / name), name


def test_seed_changes_weights_but_not_tokenizer(tiny_dir, tmp_path):
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert sha256(other / "model.safetensors") != sha256(tiny_dir / "model.safetensors")
    assert sha256(other / "tokenizer.json") == sha256(tiny_dir / "tokenizer.json")


def test_the_shipped_base_has_learned_english(tokenizer, model, tmp_path):
    """The pretrained weights model English prose they never saw far better than random ones."""
    import textwrap

    import torch
    from transformers import AutoModelForCausalLM

    random_base = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "random", seed=0))
    # Prose it never saw (not in pydoc_data.topics), whitespace folded as its training text was.
    text = " ".join((textwrap.__doc__ + (subprocess.__doc__ or "")[:2000]).split())
    batch = tokenizer(text, return_tensors="pt", truncation=True, max_length=512)
    with torch.no_grad():
        pretrained = model(**batch, labels=batch["input_ids"]).loss.item()
        untrained = random_base(**batch, labels=batch["input_ids"]).loss.item()
    assert pretrained < untrained - 2.5, (pretrained, untrained)  # nats per token; measured 5.3 vs 9.0


def test_build_leaves_the_global_torch_rng_alone(tmp_path):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(tmp_path / "rng")
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "text",
    [
        "Sorry for the wait. Orders ship in 3 to 5 days.",
        "`quarry run --dry-run` prints what it would do.\n\tindented {braces} #42",
        "Ünïcode and emoji ✓ still round-trip: 日本",
    ],
)
def test_tokenizer_round_trips_text(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_vocab_is_small_and_compresses_english(tokenizer):
    assert 1024 <= len(tokenizer) <= 2048
    text = "Thank you for contacting us. You can return it within 30 days for a full refund."
    assert len(tokenizer(text)["input_ids"]) < len(text) / 2.5


def test_special_tokens_are_set_and_agree_with_configs(tokenizer, model):
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    ids = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
    assert None not in ids and len(ids) == 3
    for config in (model.config, model.generation_config):
        assert config.bos_token_id == tokenizer.bos_token_id
        assert config.eos_token_id == tokenizer.eos_token_id
        assert config.pad_token_id == tokenizer.pad_token_id
    assert tokenizer("hi")["input_ids"][0] == tokenizer.bos_token_id


def test_chat_template_renders_roles_and_generation_prompt(tokenizer):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == "<s><|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|user|>\nHi</s>\n<|assistant|>\n")


def test_chat_template_marks_assistant_tokens(tokenizer):
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    out = tokenizer.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "Hello!</s>"
