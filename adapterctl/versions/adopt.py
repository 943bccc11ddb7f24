"""`import`: adopting an existing PEFT adapter folder (e.g. a plain PEFT/TRL script's output)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapterctl import manifest
from adapterctl.core import ui
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.manifest import AdapterSpec
from adapterctl.store import base_files, fingerprints, weights
from adapterctl.versions.card import Training
from adapterctl.versions.register import register
from adapterctl.versions.store import Version


def import_folder(project: Project, name: str, folder: Path, *, message: str = "", any_base: bool = False) -> Version:
    """Adopt an existing PEFT adapter folder (e.g. a plain PEFT/TRL script's output).

    Its base_model_name_or_path must name the manifest's base (unless `any_base`, which the
    card then records as training.any_base), and it must pass the structural check against
    the base (`register` runs it). The card's LoRA settings are the adapter's own, so
    `status` reports where they differ from the manifest.
    """
    folder = Path(folder).resolve()
    weights.check_folder(folder)
    m = manifest.load(project.manifest_path)
    spec = m.adapter(name)
    config = weights.read_config(folder)
    if config.get("peft_type", "LORA") != "LORA":
        raise UsageError(f"{folder}: a {config.get('peft_type')} adapter; adapterctl versions LoRA adapters")
    base_dir = base_files.locate_base(project, m.base.model, m.base.revision)
    declared = config.get("base_model_name_or_path") or ""
    same = _same_base(project, declared, m.base.model, base_dir)
    if not same and not any_base:
        raise UsageError(
            f"{folder / weights.CONFIG}: base_model_name_or_path is {declared!r}, but the manifest's base is "
            f"{m.base.model!r}; pass --any-base if it was trained on the same weights under another name"
        )
    if base_dir is None:
        ui.warn(f"base {m.base.model} is not available locally: tensor shapes were not checked against it")
    elif not weights.base_tensors(base_dir):
        ui.warn(f"base {m.base.model} has no safetensors weights: tensor shapes were not checked against it")
    # Keys in the order cards have always held them (the declared `any_base` before `from`);
    # any_base and declared_base only when adopted on the user's word that the weights are the base.
    training = Training(
        source="import",
        any_base=True if not same else None,
        from_=str(folder),
        declared_base=declared if not same else None,
    )
    return register(
        project,
        name,
        folder,
        spec=_spec_from_config(spec, config),
        message=message or f"import {folder.name}",
        training=training,
        label=str(folder),
    )


def _same_base(project: Project, declared: str, model: str, base_dir: Path | None) -> bool:
    """The declared base is the manifest's: the same name, or a folder holding the same weights."""
    if declared == model:
        return True
    if not declared or base_dir is None:
        return False
    cache = fingerprints.FileCache(project)
    try:
        ours = None
        for path in {Path(declared).expanduser().resolve(), (project.root / declared).resolve()}:
            if not path.is_dir():
                continue
            if path == base_dir.resolve():
                return True
            ours = ours or fingerprints.model_hashes(base_dir, cache)[0]
            if ours and fingerprints.model_hashes(path, cache)[0] == ours:
                return True
    finally:
        cache.save()
    return False


def _spec_from_config(spec: AdapterSpec, config: dict[str, Any]) -> AdapterSpec:
    """The manifest's spec with the LoRA settings the imported adapter actually has."""
    keys = {
        "r": "r",
        "lora_alpha": "alpha",
        "lora_dropout": "dropout",
        "use_dora": "use_dora",
        "use_rslora": "use_rslora",
        "bias": "bias",
    }
    update = {ours: config[theirs] for theirs, ours in keys.items() if config.get(theirs) is not None}
    if "alpha" in update:
        update["alpha"] = float(update["alpha"])
    try:
        lora = type(spec.lora).model_validate({**spec.lora.model_dump(), **update})
    except ValidationError:  # values outside our schema: keep the manifest's
        return spec
    return replace(spec, lora=lora)
