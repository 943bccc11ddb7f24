"""`status`: is each adapter's latest version still what training the manifest would produce?

The latest card recorded the spec, data hashes and base fingerprint it was trained from;
they are compared with the manifest's resolved spec and the files on disk now. Only what
shapes the weights counts (`manifest.weight_material`, what `manifest.spec_hash` hashes): eval settings, gates and the
eval set change how a version is judged, not the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core.project import Project
from adapterctl.core.refs import short
from adapterctl.store import fingerprints, rowcount, storage
from adapterctl.versions.card import Card
from adapterctl.versions.registry import Registry

UP_TO_DATE, STALE, NEVER = "up to date", "stale", "never trained"


@dataclass
class AdapterStatus:
    name: str
    state: str  # UP_TO_DATE, STALE or NEVER
    latest: str = ""  # short id of the latest version
    reasons: list[str] = field(default_factory=list)  # one line each, for people
    spec: list[dict[str, Any]] = field(default_factory=list)  # {key, old, new}
    data: list[dict[str, Any]] = field(
        default_factory=list
    )  # {path, old_md5, new_md5, old_rows, new_rows, added, removed}
    base: list[dict[str, Any]] = field(default_factory=list)  # {key, old, new}
    unfinished_run: dict[str, str] | None = None  # {id, status, resume}: a run `train --resume` continues


def status(project: Project, names: list[str] | None = None) -> list[AdapterStatus]:
    m = manifest.load(project.manifest_path)
    for name in names or []:
        m.adapter(name)  # an unknown name is an error with a did-you-mean
    registry = Registry(project)
    cache = fingerprints.FileCache(project)
    base_now: dict[str, str] | None = None
    out = []
    try:
        for name in names or m.adapter_names:
            spec = m.adapter(name)
            log = registry.log(name)
            unfinished = _unfinished_run(project, name)
            if not log:
                out.append(AdapterStatus(name, NEVER, reasons=["no versions yet"], unfinished_run=unfinished))
                continue
            card = log[0].card
            result = AdapterStatus(name, UP_TO_DATE, log[0].short)
            _compare_spec(project, spec, card, result)
            _compare_data(project, spec, card, cache, result)
            if base_now is None:
                base_now = fingerprints.base_fingerprint(project, m.base.model, m.base.revision, cache)
            _compare_base(card.base.to_dict(), base_now, result)
            if spec.combine:
                _compare_inputs(registry, card, result)
            if result.reasons:
                result.state = STALE
            result.unfinished_run = unfinished
            out.append(result)
    finally:
        cache.save()
    return out


def _unfinished_run(project: Project, name: str) -> dict[str, str] | None:
    """The newest run of NAME that stopped before registration (interrupted, failed, killed,
    or trained but not registered) and that `train NAME --resume` would continue."""
    from adapterctl.train import runs

    for run in runs.history(project, name):
        if run.status == "registered":
            return None
        if run.status in runs.UNFINISHED and not run.alive():
            state = "killed" if run.status == "running" else run.status  # running, with its process gone
            return {"id": run.id, "status": state, "resume": f"adapterctl train {name} --resume"}
    return None


def stale_names(project: Project) -> list[str]:
    """Adapters whose latest version no longer matches the manifest, or that have none yet."""
    return [row.name for row in status(project) if row.state in (STALE, NEVER)]


def _compare_spec(project: Project, spec: manifest.AdapterSpec, card: Card, result: AdapterStatus) -> None:
    if card.spec_hash == manifest.spec_hash(spec, project.root):
        return
    for change in manifest.spec_changes(card.spec.to_dict(), spec.to_dict(), weights_only=True):
        result.spec.append({"key": change.key, "old": change.old, "new": change.new})
        # Which is which: after `train --set`, the version's value is the one typed, not the manifest's.
        result.reasons.append(f"{change.key}: {_show(change.new)} in the manifest, {_show(change.old)} in the version")
    template_now = versions.template_sha256(project, spec)
    recorded = (
        card.template_sha256 if "template_sha256" in card.model_fields_set else template_now
    )  # older cards lack it
    if spec.template == card.spec.template and recorded != template_now:
        result.spec.append({"key": "template (content)", "old": card.template_sha256, "new": template_now})
        result.reasons.append(f"{spec.template} changed")
    if not result.reasons:  # hashed material we do not itemise (e.g. a new spec field)
        result.reasons.append("spec changed")


def _compare_data(
    project: Project, spec: manifest.AdapterSpec, card: Card, cache: fingerprints.FileCache, result: AdapterStatus
) -> None:
    now = versions.data_facts(project, spec, cache)
    for role in ("train", "val"):
        recorded = card.data.role(role)
        before, after = recorded.to_dict() if recorded else None, now.get(role)
        if not before or not after or before.get("path") != after.get("path"):
            continue  # a different file is a spec change, reported above
        if before.get("md5") == after.get("md5") or not after.get("md5"):
            continue
        change = {
            "path": after["path"],
            "old_md5": before.get("md5"),
            "new_md5": after["md5"],
            "old_rows": before.get("rows"),
            "new_rows": after.get("rows"),
            "added": None,
            "removed": None,
        }
        old_copy = storage.cached_file(project.root, before["md5"]) if before.get("md5") else None
        delta = rowcount.row_delta(old_copy, project.root / after["path"]) if old_copy else None
        if delta is not None:
            change["added"], change["removed"] = delta
            detail = f"+{delta[0]} rows, −{delta[1]} rows"
        elif change["old_rows"] is not None and change["new_rows"] is not None:
            diff = change["new_rows"] - change["old_rows"]
            detail = f"{diff:+d} rows ({change['old_rows']} → {change['new_rows']})"
        else:
            detail = "content changed"
        result.data.append(change)
        result.reasons.append(f"data {after['path']} changed: {detail}")


def _compare_base(before: dict[str, Any], now: dict[str, str], result: AdapterStatus) -> None:
    for key, label in (("model", "base model"), ("revision", "base revision")):
        if (before.get(key) or "") != (now.get(key) or ""):
            result.base.append({"key": key, "old": before.get(key), "new": now.get(key)})
            result.reasons.append(f"{label}: {_show(before.get(key))} → {_show(now.get(key))}")
    if result.base:
        return
    for key, label in (("hash", "base weights changed"), ("tokenizer_hash", "tokenizer or chat template changed")):
        old, new = before.get(key), now.get(key)
        if old and new and old != new:  # "" means it could not be hashed there or here
            result.base.append({"key": key, "old": old, "new": new})
            result.reasons.append(label)


def _compare_inputs(registry: Registry, card: Card, result: AdapterStatus) -> None:
    """A combination is stale when an input's latest version is not the one it combined."""
    for used in card.combine.inputs if card.combine else []:
        history = registry.log(used.name)
        latest = history[0].id if history else ""
        if latest != used.id:
            now = short(latest) if latest else "(no versions)"
            result.reasons.append(f"input {used.name} has a new version: {short(used.id)} → {now}")


def _show(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)
