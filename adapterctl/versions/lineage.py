"""What a new card records about its inputs: spec, template, data, base and library versions."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from adapterctl import manifest
from adapterctl.core.project import Project
from adapterctl.manifest import AdapterSpec
from adapterctl.store import environments, fingerprints, storage
from adapterctl.versions import card as cards
from adapterctl.versions.card import Card, Libraries, Training

LIBRARIES = tuple(Libraries.model_fields)  # the card's [libraries] declares what is recorded


def new_card(
    project: Project,
    m: manifest.Manifest,
    name: str,
    vid: str,
    spec: AdapterSpec,
    message: str,
    training: Training | None,
    card_extra: dict[str, Any] | None,
    *,
    parent: str,
) -> Card:
    from adapterctl.store import gitio

    cache = fingerprints.FileCache(project)
    try:
        data: dict[str, Any] = {
            "schema_version": cards.SCHEMA_VERSION,
            "name": name,
            "id": vid,
            "parent": parent,
            "created": environments.now(),
            "message": message,
            "git_commit": gitio.describe_head(project.root),
            "spec_hash": manifest.spec_hash(spec, project.root),
            "template_sha256": template_sha256(project, spec),
            "seed": spec.train.seed,
            **(card_extra or {}),
            "base": fingerprints.base_fingerprint(project, m.base.model, m.base.revision, cache),
            "data": data_facts(project, spec, cache),
            "libraries": library_versions(),
            "training": training if training is not None else {},
            "metrics": {},
            "spec": spec.to_dict(),
        }
    finally:
        cache.save()
    return cards.from_dict(data)


def template_sha256(project: Project, spec: AdapterSpec) -> str:
    if not spec.template or not (project.root / spec.template).is_file():
        return ""
    return fingerprints.file_digest(project.root / spec.template, "sha256")


def data_facts(project: Project, spec: AdapterSpec, cache: fingerprints.FileCache) -> dict[str, dict[str, Any]]:
    """path, md5 (as DVC records it) and row count of each data file the spec names."""
    out: dict[str, dict[str, Any]] = {}
    for role, rel in (("train", spec.data), ("val", spec.val_data), ("eval", spec.eval_data)):
        if not rel:
            continue
        path = project.root / rel
        if path.is_file():
            facts: dict[str, Any] = {"path": rel, "md5": cache.digest(path, "md5")}
            rows = cache.rows(path)
            if rows is not None:
                facts["rows"] = rows
        else:  # tracked but not pulled here: DVC still knows its hash
            facts = {"path": rel, "md5": storage.md5(path) or ""}
        out[role] = facts
    return out


def store_training_data(project: Project, spec: AdapterSpec, training: Training) -> None:
    """Before a trained version is registered: its data files must hold the bytes it trained on
    (else refuse), and a DVC-tracked file edited since `dvc add` is added again, so the md5 the
    card records is in the DVC cache and `push` uploads it."""
    from adapterctl.core import ui
    from adapterctl.core.errors import DataError

    trained = training.data
    read = (
        (spec.data, trained.data_sha256 if trained else None),
        (spec.val_data, trained.val_sha256 if trained else None),
    )
    for rel, sha256 in read:
        if not rel:
            continue
        path = project.root / rel
        if not path.is_file():
            continue
        if sha256 and fingerprints.file_digest(path, "sha256") != sha256:
            raise DataError(
                f"{rel} changed after training read it; the card would name data this version was "
                "not trained on: train again"
            )
        if not storage.dvc_file(path).exists():
            continue  # not DVC's to store (in git, or untracked)
        if storage.cached_file(project.root, fingerprints.file_digest(path, "md5")) is None:
            ui.info(f"{rel} changed since its last `dvc add`: adding it to the DVC cache (commit {rel}.dvc)")
            storage.track(project.root, [path])


def library_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (importing them would load torch)."""
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = ""
    return out
