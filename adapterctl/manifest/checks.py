"""Checks beyond the schema that look at the disk: files the manifest names, a local base model."""

from __future__ import annotations

from pathlib import Path

from adapterctl.core.errors import ManifestError
from adapterctl.core.project import dvc_file, leads_outside, outside_message
from adapterctl.manifest.keypaths import _Ctx
from adapterctl.manifest.model import Manifest


def check_files(manifest: Manifest) -> list[str]:
    """Files the manifest names that are missing. DVC-tracked files not yet pulled count as present."""
    problems = []
    for name, section in manifest.raw_adapters.items():
        for key in ("data", "eval_data", "val_data", "template"):
            rel = getattr(section, key)
            if rel is None:
                continue
            target = (manifest.root / rel).resolve()
            if (real := leads_outside(manifest.root, rel)) is not None:
                problems.append(f"{manifest.path.name}: adapters.{name}.{key}: {outside_message(rel, real)}")
            elif target.is_dir():
                problems.append(f"{manifest.path.name}: adapters.{name}.{key}: {rel} is a folder; name a file")
            elif not target.exists() and not dvc_file(target).exists():
                line = _Ctx(manifest.path, manifest.text).line_of(f"adapters.{name}.{key}")
                problems.append(f"{manifest.path.name}{line}: adapters.{name}.{key}: file {rel} does not exist")
    return problems


def looks_local(model: str) -> bool:
    """A base.model written as a path (./x, ../x, /x, ~/x, a/b/c, a\\b) rather than a hub id (org/name)."""
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") >= 2


def check_local_base(manifest: Manifest) -> None:
    """A base.model that reads as a local path must exist (or be DVC-tracked, not yet pulled)."""
    model = manifest.base.model
    target = manifest.root / Path(model).expanduser()
    first = manifest.root / model.split("/", 1)[0]
    local = looks_local(model) or ("/" in model and first.is_dir())  # e.g. models/x beside a models/ folder
    if local and not target.exists() and not dvc_file(target).exists():
        line = _Ctx(manifest.path, manifest.text).line_of("base.model")
        raise ManifestError(
            f"{manifest.path.name}{line}: base.model: {model} looks like a local folder, "
            "but it does not exist (a hub model is named ORG/NAME)"
        )
