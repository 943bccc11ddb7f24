"""The Python API: one function per command, the project first.

The CLI only parses arguments, calls these, and renders what they return. Functions here
import nothing heavy at module level: `list`, `show`, `validate` never load torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapterctl import manifest, storage, ui
from adapterctl.errors import ManifestError, UsageError
from adapterctl.ops import scaffold
from adapterctl.ops.scaffold import EXAMPLE_BASE, InitResult
from adapterctl.project import MANIFEST, Project, find_project
from adapterctl.refs import short
from adapterctl.train.results import SweepResult, TrainResult

if TYPE_CHECKING:  # result types of the ops, imported where they run (no cost for `--help`)
    from adapterctl.ops.deploy import MoveResult
    from adapterctl.ops.gc import GcResult
    from adapterctl.ops.transfer import TransferResult
    from adapterctl.staleness import AdapterStatus

__all__ = ["EXAMPLE_BASE", "InitResult", "SweepResult", "TrainResult"]  # re-exported for callers


def open_project(path: Path | str | None = None) -> Project:
    return find_project(path)


def load_manifest(project: Project) -> manifest.Manifest:
    return manifest.load(project.manifest_path)


# ── init (see ops/scaffold.py) ──


def init(
    directory: Path | str = ".",
    *,
    example: bool = False,
    base: str | None = None,
    remote: str | None = None,
) -> InitResult:
    """Scaffold a project: git (if none), DVC, manifest, prompt template, .gitignore, CI workflow."""
    return scaffold.init(directory, example=example, base=base, remote=remote)


# ── manifest commands ─────────────────────────────────────────────────────────


def add_adapter(
    project: Project,
    name: str,
    *,
    data: str,
    eval_data: str | None = None,
    template: str | None = None,
    description: str = "",
) -> manifest.AdapterSpec:
    """Add [adapters.NAME] to the manifest, keeping the user's comments and formatting."""
    from adapterctl.ops.add import add_adapter as add_op

    return add_op(project, name, data=data, eval_data=eval_data, template=template, description=description)


@dataclass
class AdapterSummary:
    name: str
    description: str
    data: str
    eval_data: str | None
    template: str | None
    spec_hash: str


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


@dataclass
class SpecView:
    """An adapter's resolved spec, the base, its hash and the id of its latest version."""

    spec: dict[str, Any]  # AdapterSpec.to_dict(): name, data, ..., lora, train, eval, gates
    base: dict[str, Any]
    spec_hash: str
    latest: str | None  # None before the first version

    def to_json(self) -> dict[str, Any]:
        return {**self.spec, "base": self.base, "spec_hash": self.spec_hash, "latest": self.latest}


def show_spec(project: Project, name: str, overrides: list[str] | None = None) -> SpecView:
    """The resolved spec of adapter NAME: defaults ⊕ its tables ⊕ --set overrides, and the
    id of its latest version (None before the first)."""
    from adapterctl import versions

    m = load_manifest(project)
    spec = m.adapter(name, manifest.parse_overrides(overrides or []))
    history = versions.log(project, name)
    return SpecView(spec.to_dict(), m.base.model_dump(), manifest.spec_hash(spec, project.root),
                    history[0].id if history else None)


@dataclass
class ValidationReport:
    manifest: str
    adapters: list[str]
    warnings: list[str]


def validate(project: Project) -> ValidationReport:
    """Schema, types, ranges, names and referenced files; raises ManifestError on the first problem."""
    m = load_manifest(project)
    problems = manifest.check_files(m)
    if problems:
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ManifestError(problems[0] + extra)
    warnings = []
    base_path = project.root / m.base.model
    if not base_path.exists() and not storage.dvc_file(base_path).exists() and not m.base.revision:
        warnings.append(f"{MANIFEST}: base.revision is not set: pin the hub revision of {m.base.model!r}")
    for warning in warnings:
        ui.warn(warning)
    return ValidationReport(str(project.manifest_path), m.adapter_names, warnings)


# ── versions: log, status, show, environments, transfer ──
#
# The store is versions/ (cards, resolve, log, register, import), registry.py (cards and
# environment pointers read once per command), ops/ (deploy, rollback, push/pull, gc) and
# staleness.py (status); these wrappers shape results for the CLI. None imports torch.


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


def log(project: Project, name: str, *, limit: int | None = None) -> list[LogEntry]:
    """Versions of NAME, newest first, with the environments that serve each."""
    from adapterctl import versions
    from adapterctl.registry import Registry

    versions.recover_if_idle(project)
    registry = Registry.load(project)
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
            metrics=_key_metrics(v.card.metrics),
            environments=serving.get(v.id, []),
            path=str(v.path),
        )
        for v in history[:limit]
    ]


def _key_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics from the card, one level of nesting flattened (`val.loss`)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def status(project: Project, names: list[str] | None = None) -> list[AdapterStatus]:
    """Per adapter: up to date, stale (with reasons) or never trained."""
    from adapterctl import staleness, versions

    versions.recover_if_idle(project)
    return staleness.status(project, names)


@dataclass
class VersionView:
    """A version's card, plus where it is and which environments serve it."""

    card: dict[str, Any]  # as the card file holds it
    path: Path
    local: bool
    environments: list[str]

    def to_json(self) -> dict[str, Any]:
        return {**self.card, "path": str(self.path), "local": self.local, "environments": self.environments}


def show_version(project: Project, ref: str) -> VersionView:
    """The card of the version REF names, plus where it is and which environments serve it."""
    from adapterctl.registry import Registry

    registry = Registry.load(project)
    version = registry.resolve(ref)
    serving = registry.serving(version.name)
    return VersionView(version.card.to_dict(), version.path, version.path.is_dir(), serving.get(version.id, []))


def deploy(project: Project, ref: str, env: str, *, message: str = "", force: bool = False) -> MoveResult:
    """Point environment ENV at the version REF names (verified first)."""
    from adapterctl.ops.deploy import deploy as deploy_op

    return deploy_op(project, ref, env, message=message, force=force)


def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = "") -> MoveResult:
    """Move ENV's pointer for NAME back to its previous target, or to the version `to` names."""
    from adapterctl.ops.rollback import rollback as rollback_op

    return rollback_op(project, name, env, to=to, message=message)


@dataclass
class EnvironmentEntry:
    env: str
    name: str
    version: str
    short: str
    deployed: str  # when the pointer last moved
    moves: list[dict[str, Any]]  # oldest first: at, action, from, to, forced, message


def environments(project: Project, name: str | None = None, env: str | None = None) -> list[EnvironmentEntry]:
    """What each environment serves, with the history of moves."""
    from adapterctl.registry import Registry
    from adapterctl.versions import short

    rows = []
    for env_name, adapters in sorted(Registry.load(project).envs.items()):
        for adapter, pointer in sorted(adapters.items()):
            if (name and adapter != name) or (env and env_name != env):
                continue
            last = pointer.moves[-1]["at"] if pointer.moves else ""
            rows.append(EnvironmentEntry(env_name, adapter, pointer.version, short(pointer.version), last, pointer.moves))
    return rows


@dataclass
class ResolvedVersion:
    ref: str
    name: str
    id: str
    path: Path


def resolve(project: Project, ref: str, *, pull: bool = False) -> ResolvedVersion:
    """The local folder of the verified version REF names (fetched from the remote with `pull`)."""
    from adapterctl import versions
    from adapterctl.ops import transfer

    versions.recover_if_idle(project)
    v = transfer.local_path(project, ref, pull=pull)
    return ResolvedVersion(v.ref, v.name, v.id, v.path)


def push(project: Project, ref: str | None = None) -> TransferResult:
    """Upload a version's weights to the DVC remote, or everything DVC tracks."""
    from adapterctl.ops import transfer

    return transfer.push(project, ref)


def pull(project: Project, ref: str | None = None) -> TransferResult:
    """Fetch a version (only that one) or everything DVC tracks; verify what arrives."""
    from adapterctl.ops import transfer

    return transfer.pull(project, ref)


@dataclass
class ImportResult:
    ref: str
    name: str
    id: str
    path: Path
    card: Path
    new: bool  # False when this content was already a version


def import_adapter(
    project: Project, name: str, path: Path | str, *, message: str = "", any_base: bool = False
) -> ImportResult:
    """Adopt an existing PEFT adapter folder as a version of NAME."""
    from adapterctl import versions

    before = {v.id for v in versions.log(project, name)}
    v = versions.import_folder(project, name, Path(path), message=message, any_base=any_base)
    return ImportResult(v.ref, v.name, v.id, v.path, v.card_path, v.id not in before)


def gc(project: Project, *, keep_last: int = 3, force: bool = False) -> GcResult:
    """Drop local copies of versions no environment and no recent log entry needs (dry run unless force)."""
    from adapterctl.ops import gc as gc_op

    return gc_op.gc(project, keep_last=keep_last, force=force)


# ── training: train, sweep (see train/) ──
#
# Functions for training go in this section. train/runner.py runs the jobs (in this process
# or under accelerate) and registers what they produce; these wrappers validate arguments
# and shape results for the CLI. Nothing here imports torch until a job runs.


def train(
    project: Project,
    names: list[str] | tuple[str, ...] = (),
    *,
    overrides: list[str] | None = None,
    resume: bool = False,
    all_stale: bool = False,
    launcher: str = "none",
    num_processes: int | None = None,
    accelerate_config: str | None = None,
    progress: str = "auto",
    message: str = "",
) -> list[TrainResult]:
    """Train adapters NAME… from their resolved specs into new versions, one after another.

    The base is loaded once for all of them where quantisation and dtypes agree. Ctrl-C
    raises Interrupted (exit 130) and registers nothing; `resume=True` continues the newest
    interrupted run of each name from its last checkpoint.
    """
    from adapterctl.train import runner

    wanted = list(dict.fromkeys(names))
    if all_stale:
        wanted += [n for n in _stale_adapters(project) if n not in wanted]
        if not wanted:
            ui.info("no adapter is stale: every latest version matches the manifest")
            return []
    if not wanted:
        raise UsageError("name at least one adapter to train, or pass --all-stale")
    launch = _launcher(launcher, num_processes, accelerate_config)
    jobs = runner.prepare(project, wanted, list(overrides or []), progress=progress, launcher=launch)
    outcomes = runner.train_all(project, jobs, resume=resume, overrides_given=bool(overrides), message=message)
    from adapterctl.train.results import train_result

    return [train_result(o) for o in outcomes]


def _launcher(kind: str, num_processes: int | None, config: str | None) -> dict[str, Any]:
    if kind not in ("none", "accelerate"):
        raise UsageError(f"--launcher {kind}: use none or accelerate")
    if kind == "none" and (num_processes or config):
        raise UsageError("--num-processes and --accelerate-config need --launcher accelerate")
    if num_processes is not None and num_processes < 1:
        raise UsageError("--num-processes must be at least 1")
    if config is not None:  # launch.config_path rejects a name that is neither a preset nor a file
        from adapterctl.train.launch import CONFIGS, config_path

        config = config if config in CONFIGS else str(config_path(config, "cpu"))
    return {"kind": kind, "num_processes": num_processes or (1 if kind == "none" else None), "config": config}


def _stale_adapters(project: Project) -> list[str]:
    """Adapters whose latest version no longer matches the manifest, or that have none yet."""
    from adapterctl import staleness

    return [row.name for row in staleness.status(project) if row.state in (staleness.STALE, staleness.NEVER)]


def sweep(
    project: Project,
    name: str,
    grid: list[str],
    *,
    overrides: list[str] | None = None,
    progress: str = "auto",
    message: str = "",
) -> SweepResult:
    """Train every combination of the grid's values as a candidate version of NAME, ranked by
    val loss; the best is registered last, so it becomes the latest version (train/sweep.py)."""
    from adapterctl.train import sweep as sweeps

    return sweeps.run(project, name, grid, overrides=list(overrides or []), progress=progress, message=message)
