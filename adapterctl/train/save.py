"""Write a trained adapter as a standard PEFT folder.

- `save_dtype` casts the saved tensors (float32 is PEFT's default; 16-bit halves storage);
- PiSSA/OLoRA adapters are converted to plain LoRA against the *unmodified* base, so the
  folder loads with `PeftModel.from_pretrained` on the base the manifest names;
- `base_model_name_or_path` becomes the manifest's base id (PEFT writes a local absolute
  path, which differs per machine and would change the version id).
"""

from __future__ import annotations

import json
from pathlib import Path

from adapterctl.store.weights import CONFIG, WEIGHTS


def save_adapter(
    peft_model,
    out_dir: Path,
    *,
    save_dtype: str,
    base_model: str,
    base_revision: str | None,
    init_dir: Path | None = None,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = {"path_initial_model_for_weight_conversion": str(init_dir)} if init_dir else {}
    peft_model.save_pretrained(str(out_dir), safe_serialization=True, **kwargs)
    if init_dir:
        _keep_modules_to_save(peft_model, out_dir / WEIGHTS)
    _cast(out_dir / WEIGHTS, save_dtype)
    _rewrite_config(out_dir / CONFIG, base_model, base_revision)
    return out_dir


def finish_gathered(
    gathered: Path, out_dir: Path, *, save_dtype: str, base_model: str, base_revision: str | None
) -> Path:
    """Turn `Trainer.save_model`'s folder (written under accelerate) into a clean PEFT folder."""
    import shutil

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (WEIGHTS, CONFIG):
        shutil.copy2(gathered / name, out_dir / name)
    shutil.rmtree(gathered, ignore_errors=True)
    _cast(out_dir / WEIGHTS, save_dtype)
    _rewrite_config(out_dir / CONFIG, base_model, base_revision)
    return out_dir


def save_initial(peft_model, out_dir: Path) -> Path:
    """The adapter before training, for PiSSA/OLoRA conversion (init flag reset so loading it
    does not factorise the base again)."""
    config = peft_model.peft_config["default"]
    init = config.init_lora_weights
    config.init_lora_weights = True
    try:
        peft_model.save_pretrained(str(out_dir), safe_serialization=True)
    finally:
        config.init_lora_weights = init
    return out_dir


def _keep_modules_to_save(peft_model, path: Path) -> None:
    """PEFT's PiSSA/OLoRA conversion writes the LoRA tensors only; put back the fully
    trained modules (modules_to_save), or loading the folder would fail."""
    from peft.utils import get_peft_model_state_dict
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    missing = {
        k: v.detach().cpu().contiguous()
        for k, v in get_peft_model_state_dict(peft_model).items()
        if k not in tensors and "lora_" not in k
    }
    if missing:
        save_file({**tensors, **missing}, str(path), metadata=metadata)


def _cast(path: Path, save_dtype: str) -> None:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    target = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[save_dtype]
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if all(t.dtype == target or not t.is_floating_point() for t in tensors.values()):
        return
    cast = {k: (t.to(target) if t.is_floating_point() else t).contiguous() for k, t in tensors.items()}
    save_file(cast, str(path), metadata=metadata)


def _rewrite_config(path: Path, base_model: str, base_revision: str | None) -> None:
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = base_model
    config["revision"] = base_revision
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
