"""Putting a version on a base: the base must be the one its card records, and the version must
pass the structural check. Every command that loads, serves, deploys or exports a version
goes through `BaseInUse.admit`; `combine` compares its inputs' cards with `mismatch` too.

The base is fingerprinted once per `BaseInUse` (the server keeps one for its lifetime, so no
request pays for it), and a version admitted once is not checked again by the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl import manifest
from adapterctl.core.errors import IntegrityError
from adapterctl.core.project import Project
from adapterctl.store import base_files, fingerprints, weights
from adapterctl.versions import structure
from adapterctl.versions.store import Version, check_weights


def mismatch(recorded: dict[str, Any], current: dict[str, Any]) -> str | None:
    """How two base fingerprints differ, or None when they name the same base. The weights hash
    decides when both sides have one (a renamed folder with the same weights is the same
    base); model and revision decide otherwise. "" means unknown and matches anything."""
    old, new = recorded.get("hash") or "", current.get("hash") or ""
    if old and new:
        return None if old == new else f"base weights sha256 {old} vs {new}"
    for key in ("model", "revision"):
        old, new = recorded.get(key) or "", current.get(key) or ""
        if old and new and old != new:
            return f"base {key} {old!r} vs {new!r}"
    return None


@dataclass
class BaseInUse:
    """The base a command is about to put versions on, fingerprinted once."""

    model: str
    revision: str
    folder: Path | None  # None: not on this machine (a hub model not cached, a DVC folder not pulled)
    fingerprint: dict[str, str]
    _tensors: dict[str, weights.TensorInfo] | None = None
    _admitted: set[str] = field(default_factory=set)

    @property
    def tensors(self) -> dict[str, weights.TensorInfo] | None:
        """The base's tensor shapes from its safetensors headers (None when it has none here)."""
        if self._tensors is None and self.folder is not None:
            self._tensors = weights.base_tensors(self.folder)
        return self._tensors or None

    def check_identity(self, version: Version) -> None:
        """Refuse a version whose card records another base than this one."""
        why = mismatch(version.card.base.to_dict(), self.fingerprint)
        if why:
            raise IntegrityError(
                f"{version.ref}: its card records another base than {self.model} here (card vs here: {why}); "
                f"{_way_out(version)}"
            )

    def check_structure(self, version: Version) -> None:
        """The structural check alone, against this base's shapes (once per version)."""
        if version.id not in self._admitted:
            structure.check_folder(version.path, self.tensors, label=version.ref)
            self._admitted.add(version.id)

    def admit(self, version: Version) -> None:
        """Everything a version must pass before it is put on this base: its weights match its
        id, its card names this base, and it is structurally sound. Raises IntegrityError."""
        check_weights(version)
        self.check_identity(version)
        self.check_structure(version)


def manifest_base(project: Project) -> BaseInUse:
    """The manifest's base: what serve, generate, eval, deploy and the vLLM sync run versions on."""
    base = manifest.load(project.manifest_path).base
    return _fingerprinted(project, base.model, base.revision or "")


def card_base(project: Project, version: Version) -> BaseInUse:
    """The base the version's card names (the manifest's where the card is silent): what merge,
    combine and export put it on."""
    base = manifest.load(project.manifest_path).base
    recorded = version.card.base
    return _fingerprinted(project, recorded.model or base.model, recorded.revision or base.revision or "")


def unhashed_manifest_base(project: Project) -> BaseInUse:
    """The manifest's base for structural checks only (`pull`): its shapes, not its hash."""
    base = manifest.load(project.manifest_path).base
    folder = base_files.locate_base(project, base.model, base.revision)
    return BaseInUse(base.model, base.revision or "", folder, {"model": base.model})


def _fingerprinted(project: Project, model: str, revision: str) -> BaseInUse:
    cache = fingerprints.FileCache(project)
    try:
        fingerprint = fingerprints.base_fingerprint(project, model, revision or None, cache)
    finally:
        cache.save()
    return BaseInUse(model, revision, base_files.locate_base(project, model, revision or None), fingerprint)


def _way_out(version: Version) -> str:
    training = version.card.training
    if training.source == "import":
        how = f"re-import the adapter on this base (`adapterctl import {version.name} PATH`)"
    elif training.source == "combine":
        how = f"combine its inputs again on this base (`adapterctl combine ... --into {version.name}`)"
    else:
        how = f"retrain it on this base (`adapterctl train {version.name}`)"
    return f"{how}, or restore the base it was trained on (`adapterctl status` shows what changed)"
