"""Registering a version: the staging → publish transaction, and recovery from interrupted ones.

Weights are staged and hashed first; then the folder is moved into place, dvc-added and
pushed (when a remote is configured); the card is written last, atomically, and that makes
the version visible. Any failure or kill before then leaves nothing behind: a pending
marker names what was in flight, and the next state change removes it, under the lock
(`changes_state`). Read-only commands never delete anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapterctl import manifest
from adapterctl.core import faults
from adapterctl.core.errors import Terminated, UsageError
from adapterctl.core.project import Project, add_to_gitignore, atomic_write, atomic_write_leftovers
from adapterctl.manifest import AdapterSpec
from adapterctl.store import base_files, storage, weights
from adapterctl.versions import card as cards
from adapterctl.versions import structure
from adapterctl.versions.card import Training
from adapterctl.versions.lineage import new_card
from adapterctl.versions.store import Version, log, read_card, version_dir

# Ignores version folders in git, so `dvc add` leaves adapters/NAME/.gitignore alone (two
# branches would conflict on it). "*?" and not "*": DVC's gitignore matcher would also match
# adapters/NAME/ itself and skip every version's .dvc file (then `dvc pull` deletes versions).
IGNORE_VERSIONS = "/adapters/*/*?/"
_IGNORE_VERSIONS_OLD = "/adapters/*/*/"


def register(
    project: Project,
    name: str,
    weights_dir: Path,
    *,
    spec: AdapterSpec,
    message: str = "",
    training: Training | None = None,
    extra_files: Sequence[Path] = (),
    card_extra: dict[str, Any] | None = None,
    label: str | None = None,
) -> Version:
    """Adopt a PEFT save_pretrained folder as a version of NAME (see the module docstring).
    Same content again: the existing version is returned and nothing changes. The staged copy
    must pass the structural check (`label` names the source in its refusal)."""
    manifest.check_adapter_name(name)
    weights.check_folder(Path(weights_dir))
    m = manifest.load(project.manifest_path)
    project.check_inside(version_dir(project, name, "x"))  # adapters/NAME must not lead out of the project
    with changing(project), _terminate_raises():
        _ensure_versions_ignored(project)
        staging = project.state_dir / "staging" / uuid.uuid4().hex
        try:
            _stage(Path(weights_dir), staging, extra_files, m.base)
            structure.check_folder(staging, _base_tensors(project, m.base), label=label or str(weights_dir))
            vid = weights.content_id(staging)
            faults.checkpoint("staged")
            final = version_dir(project, name, vid)
            if final.with_name(f"{vid}.toml").exists():
                return Version(name, vid, final, read_card(final.with_name(f"{vid}.toml")))
            previous = log(project, name)
            files = {"files": weights.file_hashes(staging)}  # every file the folder will hold
            card = new_card(
                project,
                m,
                name,
                vid,
                spec,
                message,
                training,
                {**(card_extra or {}), **files},
                parent=previous[0].id if previous else "",
            )
            text = cards.dump(card)  # before any DVC work: a card that cannot be written fails here
            return _publish(project, m, Version(name, vid, final, card), staging, text)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _base_tensors(project: Project, base: manifest.BaseSection) -> dict[str, weights.TensorInfo] | None:
    """The base's tensor shapes from its safetensors headers; None when they are not here."""
    folder = base_files.locate_base(project, base.model, base.revision)
    return (weights.base_tensors(folder) or None) if folder is not None else None


def _ensure_versions_ignored(project: Project) -> None:
    """Projects made before the pattern was right, or without `init`, get it here."""
    add_to_gitignore(project.root, [IGNORE_VERSIONS], replacing=[_IGNORE_VERSIONS_OLD])


def _stage(source: Path, staging: Path, extra_files: Sequence[Path], base: manifest.BaseSection) -> None:
    """Copy the weights and extras; the config is rewritten canonically, naming the manifest's base."""
    staging.mkdir(parents=True)
    config = weights.read_config(source)
    config["base_model_name_or_path"] = base.model  # PEFT writes a machine-specific path
    config["revision"] = base.revision
    atomic_write(staging / weights.CONFIG, weights.config_text(config))
    copies = [(source / weights.WEIGHTS, staging / weights.WEIGHTS)]
    for extra in map(Path, extra_files):
        if extra.name in (weights.CONFIG, weights.WEIGHTS):
            raise UsageError(f"extra file {extra} would overwrite the adapter's own files")
        copies.append((extra, staging / extra.name))
    for src, dst in copies:
        shutil.copyfile(src, dst)
        with dst.open("rb") as f:  # on disk before the version can become visible
            os.fsync(f.fileno())


def _publish(project: Project, m: manifest.Manifest, version: Version, staging: Path, card_text: str) -> Version:
    pending = _pending_marker(project, version.name, version.id)
    atomic_write(pending, json.dumps({"name": version.name, "id": version.id}))
    visible = False
    try:
        if version.path.exists():  # a leftover without a card: content-addressed, so replace it
            shutil.rmtree(version.path)
        version.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, version.path)
        storage.track(project.root, [version.path])
        faults.checkpoint("tracked")
        remote = storage.remote_name(project.root, m.project.remote)
        if remote:
            storage.push(project.root, [version.path], remote)
        faults.checkpoint("pushed")
        atomic_write(version.card_path, card_text)
        visible = True
    finally:
        if not visible:
            storage.untrack(version.path)
        pending.unlink(missing_ok=True)
    return version


def record_metrics(
    project: Project, version: Version, metrics: dict[str, Any], *, gates: dict[str, Any] | None = None
) -> Version:
    """Write eval results into a version's card: `metrics` merged into [metrics], and `gates`
    as [gates] (`passed` bool, `failed` list of rules; `deploy` refuses passed = false unless
    forced). Only the card changes; the id covers the weights, which stay as they are."""
    with changing(project):
        data = read_card(version.card_path).to_dict()
        data["metrics"] = {**data.get("metrics", {}), **metrics}
        if gates is not None:
            data["gates"] = gates
        card = cards.from_dict(data, version.card_path)
        atomic_write(version.card_path, cards.dump(card))
    return replace(version, card=card)


# ── recovery from interrupted registrations ───────────────────────────────────


def _pending_marker(project: Project, name: str, vid: str) -> Path:
    return project.state_dir / "pending" / f"{name}-{vid}.json"


def recover(project: Project) -> list[str]:
    """Remove what interrupted registrations left: staged copies, version folders and .dvc
    files without a card, and the temporary files of card and pointer writes killed part-way
    (`git add -A` would commit them). Call with the project lock held: every writer of those
    holds it, so no live write's file is touched. Returns what was removed."""
    removed = []
    for debris in _write_leftovers(project):
        debris.unlink(missing_ok=True)
        removed.append(project.relpath(debris))
    for marker in sorted((project.state_dir / "pending").glob("*.json")):
        try:
            info = json.loads(marker.read_text())
            folder = version_dir(project, info["name"], info["id"])
        except (ValueError, KeyError):
            marker.unlink(missing_ok=True)
            continue
        if not folder.with_name(f"{info['id']}.toml").exists():
            if folder.exists() or storage.dvc_file(folder).exists():
                removed.append(project.relpath(folder))
            storage.untrack(folder)
        marker.unlink(missing_ok=True)
    staging = project.state_dir / "staging"
    if staging.is_dir() and any(staging.iterdir()):
        removed.append(project.relpath(staging))
        shutil.rmtree(staging, ignore_errors=True)
    return removed


def _write_leftovers(project: Project) -> list[Path]:
    """atomic_write temporary files beside cards (adapters/NAME/) and pointers (environments/ENV/)."""
    from adapterctl.store.environments import envs_dir

    inside = project.root.resolve()
    folders = [
        f
        for f in (*project.adapters_dir.glob("*/"), *envs_dir(project).glob("*/"))
        if f.is_dir() and f.resolve().is_relative_to(inside)
    ]  # a linked-out folder is not ours to clean
    return [debris for folder in folders for debris in atomic_write_leftovers(folder)]


@contextlib.contextmanager
def changing(project: Project) -> Iterator[None]:
    """Hold the project lock for a state change, first sweeping what interrupted ones left.

    The one lock path: ops/ wrap whole operations in it through `ops.changes_state`; the
    layers below ops (registration here, eval's writes) enter it directly."""
    with project.lock():
        recover(project)
        yield


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """Turn SIGTERM (`kill PID`) into an exception so a registration cleans up after itself."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001
        raise Terminated("terminated: the registration was abandoned and nothing was registered")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
