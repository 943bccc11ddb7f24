"""Read-only answers for the CLI: the adapters a manifest declares (list, show, validate) and
what the registry holds (log, show REF, envs), shaped as the typed results defined here.

api.py re-exports each as api.X. Nothing here imports torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapterctl import manifest
from adapterctl.core import ui
from adapterctl.core.errors import ManifestError, UsageError
from adapterctl.core.project import MANIFEST, Project
from adapterctl.core.refs import short
from adapterctl.store import storage

if TYPE_CHECKING:  # `list` and `validate` never load the card model
    from adapterctl.store.environments import Move
    from adapterctl.versions.card import Card


@dataclass
class AdapterSummary:
    name: str
    description: str
    data: str | None  # None for a combination
    eval_data: str | None
    template: str | None
    spec_hash: str


@dataclass
class SpecView:
    """An adapter's resolved spec, the base, its hash and the id of its latest version."""

    spec: dict[str, Any]  # AdapterSpec.dump(): name, data, ..., lora, train, eval, gates, data_checks
    base: dict[str, Any]
    spec_hash: str
    latest: str | None  # None before the first version

    def to_json(self) -> dict[str, Any]:
        return {**self.spec, "base": self.base, "spec_hash": self.spec_hash, "latest": self.latest}


@dataclass
class ValidationReport:
    manifest: str
    adapters: list[str]
    warnings: list[str]
    errors: list[str] = field(default_factory=list)  # every problem, "file:line: key: message"

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "valid": self.valid,
            "adapters": self.adapters,
            "warnings": self.warnings,
            "errors": [split_problem(e) for e in self.errors],
        }


_PROBLEM = re.compile(r"^(?P<file>[^:\s]+)(?::(?P<line>\d+))?: (?P<key>[^\s:]+): (?P<message>.*)$", re.S)


def split_problem(text: str) -> dict[str, Any]:
    """{file, line, key, message} of one "file:line: key: message" problem line (line None when unknown)."""
    m = _PROBLEM.match(text)
    if not m:
        return {"file": None, "line": None, "key": None, "message": text}
    return {**m.groupdict(), "line": int(m["line"]) if m["line"] else None}


@dataclass
class LogEntry:
    name: str
    id: str
    short: str
    created: str
    message: str
    parent: str  # full id, "" for the first version
    metrics: dict[str, Any]  # the card's scalar metrics (filled by eval)
    environments: list[str]  # environments serving this version
    path: str
    any_base: bool = False  # imported with --any-base: its own config named another base
    base_hash_unknown: str = ""  # why the card could not hash its base ("" when it did)


@dataclass
class VersionView:
    """A version's card, plus where it is and which environments serve it."""

    ref: str  # NAME@<short id>
    card: Card  # --json prints it as the card file holds it
    path: Path
    local: bool
    environments: list[str]

    def to_json(self) -> dict[str, Any]:
        return {**self.card.to_dict(), "path": str(self.path), "local": self.local, "environments": self.environments}


@dataclass
class EnvironmentEntry:
    env: str
    name: str
    version: str
    short: str
    deployed: str  # when the pointer last moved
    moves: list[Move]  # oldest first


def load_manifest(project: Project) -> manifest.Manifest:
    return manifest.load(project.manifest_path)


def list_adapters(project: Project) -> list[AdapterSummary]:
    m = load_manifest(project)
    out = []
    for name in m.adapter_names:
        spec = m.adapter(name)
        out.append(
            AdapterSummary(
                name=name,
                description=spec.description,
                data=spec.data,
                eval_data=spec.eval_data,
                template=spec.template,
                spec_hash=short(manifest.spec_hash(spec, project.root)),
            )
        )
    return out


def show_spec(project: Project, name: str, overrides: list[str] | None = None) -> SpecView:
    """The resolved spec of adapter NAME: defaults ⊕ its tables ⊕ --set overrides, and the
    id of its latest version (None before the first)."""
    from adapterctl import versions

    m = load_manifest(project)
    spec = m.adapter(name, manifest.parse_overrides(overrides or []))
    history = versions.log(project, name)
    return SpecView(
        spec.dump(), m.base.model_dump(), manifest.spec_hash(spec, project.root), history[0].id if history else None
    )


def validate(project: Project) -> ValidationReport:
    """Every problem of the manifest: schema, types, ranges, names, gate references and the
    files it names, each "file:line: key: message". The report's `errors` is empty when valid."""
    from adapterctl.evaluation import gates
    from adapterctl.store import environments

    where = str(project.manifest_path)
    try:
        m = load_manifest(project)
    except ManifestError as exc:
        return ValidationReport(where, [], [], exc.problems)
    errors = manifest.check_files(m)
    known = set(environments.load(project))
    for name in m.adapter_names:
        errors += [str(e) for e in gates.unknown_references(m, name, known)]
    try:
        manifest.check_local_base(m)
    except ManifestError as exc:
        errors += exc.problems
    warnings = []
    base_path = project.root / m.base.model
    if not base_path.exists() and not storage.dvc_file(base_path).exists() and not m.base.revision:
        warnings.append(f"{MANIFEST}: base.revision is not set: pin the hub revision of {m.base.model!r}")
    return ValidationReport(where, m.adapter_names, warnings, errors)


def log(project: Project, name: str, *, limit: int | None = None) -> list[LogEntry]:
    """Versions of NAME, newest first, with the environments that serve each."""
    from adapterctl import versions
    from adapterctl.versions.registry import Registry

    if limit is not None and limit < 0:
        raise UsageError(f"--limit {limit}: must be 0 or more")
    registry = Registry(project)
    history = registry.log(name)
    if not history:
        registry.resolve(name)  # raises the right "no versions" error
    serving = registry.serving(name)
    known = {v.id for v in history}
    for vid, names in serving.items():
        if vid not in known:
            ui.warn(f"{', '.join(names)} serves {name}@{versions.short(vid)}, whose card is not on this branch")
    return [
        LogEntry(
            name=name,
            id=v.id,
            short=v.short,
            created=v.created,
            message=v.card.message,
            parent=v.parent,
            metrics=v.card.scalar_metrics(),
            environments=serving.get(v.id, []),
            path=str(v.path),
            any_base=bool(v.card.training.any_base),
            base_hash_unknown=v.card.base.hash_unknown,
        )
        for v in history[:limit]
    ]


def show_version(project: Project, ref: str) -> VersionView:
    """The card of the version REF names, plus where it is and which environments serve it."""
    from adapterctl.versions.registry import Registry

    registry = Registry(project)
    version = registry.resolve(ref)
    serving = registry.serving(version.name)
    return VersionView(version.ref, version.card, version.path, version.path.is_dir(), serving.get(version.id, []))


def environments(project: Project, name: str | None = None, env: str | None = None) -> list[EnvironmentEntry]:
    """What each environment serves, with the history of moves."""
    from adapterctl.versions import short
    from adapterctl.versions.registry import Registry

    registry = Registry(project)
    _check_filters(project, registry, name, env)
    rows = []
    for env_name, adapters in sorted(registry.envs.items()):
        for adapter, pointer in sorted(adapters.items()):
            if (name and adapter != name) or (env and env_name != env):
                continue
            last = pointer.moves[-1].at if pointer.moves else ""
            moves = list(pointer.moves)
            rows.append(EnvironmentEntry(env_name, adapter, pointer.version, short(pointer.version), last, moves))
    return rows


def _check_filters(project: Project, registry, name: str | None, env: str | None) -> None:
    """`envs NAME --env E` with a NAME or E that does not exist is an error, not an empty table."""
    from adapterctl.core.errors import RefError
    from adapterctl.core.suggest import closest

    if name is not None:
        known = set(load_manifest(project).adapter_names) | set(registry.names())
        if name not in known:
            close = closest(name, sorted(known))
            raise RefError(f"no adapter named '{name}'" + (f"; did you mean '{close}'?" if close else ""))
    if env is not None and registry.envs and env not in registry.envs:
        close = closest(env, sorted(registry.envs))
        hint = f"; did you mean '{close}'?" if close else f" (environments: {', '.join(sorted(registry.envs))})"
        raise RefError(f"no environment named '{env}'{hint}")
