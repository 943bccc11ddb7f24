"""Where a base model's files are on this machine: a project folder, an absolute path, or a hub
model already in the local Hugging Face cache (never downloaded here)."""

from __future__ import annotations

import os
from pathlib import Path

from adapterctl.core.project import Project
from adapterctl.store import storage


def locate_base(project: Project, model: str, revision: str | None) -> Path | None:
    """The base model's folder on this machine: a project folder, or a hub model already cached."""
    local = project.root / model
    if local.is_dir():
        return local
    if os.path.isabs(model) and Path(model).is_dir():
        return Path(model)
    if storage.dvc_file(project.root / model).exists():
        return None  # a DVC-tracked folder not pulled yet
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the local hub cache: nothing to hash
        return None


def why_missing(project: Project, model: str) -> str:
    """Why `locate_base` found no folder for `model`, in words that say what to do."""
    hint = storage.not_pulled_hint(project.root / model)
    if hint:
        return f"not on this machine{hint}"
    return "neither a folder here nor in the local Hugging Face cache"
