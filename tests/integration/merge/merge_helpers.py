"""Helpers shared by the merge, combine and export tests (a module of its own so that test
files never import `conftest`, whose name other test folders share)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BASE = "models/tiny-base"

VARIANTS = {
    "lora": {},
    "rslora": {"use_rslora": True},
    "dora": {"use_dora": True},
    "modules_to_save": {"modules_to_save": ["lm_head"]},
    "embedding": {"target_modules": ["q_proj", "v_proj", "embed_tokens"]},  # lora_embedding_A/B
}


def make_adapter(base_dir: Path, out_dir: Path, *, seed: int = 1, r: int = 4, **options) -> Path:
    """A random (init_lora_weights=False) PEFT adapter on every linear layer; modules_to_save
    copies are perturbed so replacing the base's tensor changes the logits."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    torch.manual_seed(seed)
    options.setdefault("target_modules", "all-linear")
    config = LoraConfig(r=r, lora_alpha=2 * r, init_lora_weights=False, **options)
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "modules_to_save" in name:
                param.add_(0.05 * torch.randn_like(param))
    # Embedding LoRA: PEFT would also save the whole embedding, which `import` does not accept.
    peft_model.save_pretrained(out_dir, save_embedding_layers=False)
    return out_dir


def logits_of(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=ids).logits
