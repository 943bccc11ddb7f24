"""The Python API: one function per command, the project first.

The CLI only parses arguments, calls these, and renders what they return. Functions here
import nothing heavy at module level: `list`, `show`, `validate` never load torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapterctl import manifest, storage, ui
from adapterctl.errors import ManifestError, UsageError
from adapterctl.ops import scaffold
from adapterctl.project import MANIFEST, Project, find_project
from adapterctl.refs import short
from adapterctl.results import *  # noqa: F403  (every result type, as api.LogEntry etc.)
from adapterctl.results import (
    AdapterStatus,
    AdapterSummary,
    EnvironmentEntry,
    GcResult,
    GenerateResult,
    ImportResult,
    InitResult,
    LogEntry,
    MoveResult,
    ResolvedVersion,
    SpecView,
    SweepResult,
    SyncReport,
    TrainResult,
    TransferResult,
    ValidationReport,
    VersionView,
)


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
    return SpecView(spec.to_dict(), m.base.model_dump(), manifest.spec_hash(spec, project.root),
                    history[0].id if history else None)




def validate(project: Project) -> ValidationReport:
    """Schema, types, ranges, names and referenced files; raises ManifestError on the first problem."""
    m = load_manifest(project)
    problems = manifest.check_files(m)
    if problems:
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ManifestError(problems[0] + extra)
    warnings = []
    manifest.check_local_base(m)
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
# status.py (stale or up to date); these wrappers shape results for the CLI. None imports torch.




def log(project: Project, name: str, *, limit: int | None = None) -> list[LogEntry]:
    """Versions of NAME, newest first, with the environments that serve each."""
    from adapterctl import versions
    from adapterctl.registry import Registry

    if limit is not None and limit < 0:
        raise UsageError(f"--limit {limit}: must be 0 or more")
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
            metrics=v.card.scalar_metrics(),
            environments=serving.get(v.id, []),
            path=str(v.path),
        )
        for v in history[:limit]
    ]


def status(project: Project, names: list[str] | None = None) -> list[AdapterStatus]:
    """Per adapter: up to date, stale (with reasons) or never trained."""
    from adapterctl import status as stale
    from adapterctl import versions

    versions.recover_if_idle(project)
    return stale.status(project, names)




def show_version(project: Project, ref: str) -> VersionView:
    """The card of the version REF names, plus where it is and which environments serve it."""
    from adapterctl.registry import Registry

    registry = Registry.load(project)
    version = registry.resolve(ref)
    serving = registry.serving(version.name)
    return VersionView(version.ref, version.card.to_dict(), version.path, version.path.is_dir(), serving.get(version.id, []))


def deploy(project: Project, ref: str, env: str, *, message: str = "", force: bool = False) -> MoveResult:
    """Point environment ENV at the version REF names (verified first)."""
    from adapterctl.ops.deploy import deploy as deploy_op

    result = deploy_op(project, ref, env, message=message, force=force)
    result.sync = _sync_if_server(project, env)
    return result


def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = "") -> MoveResult:
    """Move ENV's pointer for NAME back to its previous target, or to the version `to` names."""
    from adapterctl.ops.rollback import rollback as rollback_op

    result = rollback_op(project, name, env, to=to, message=message)
    result.sync = _sync_if_server(project, env)
    return result




def environments(project: Project, name: str | None = None, env: str | None = None) -> list[EnvironmentEntry]:
    """What each environment serves, with the history of moves."""
    from adapterctl.registry import Registry
    from adapterctl.versions import short

    registry = Registry.load(project)
    _check_filters(project, registry, name, env)
    rows = []
    for env_name, adapters in sorted(registry.envs.items()):
        for adapter, pointer in sorted(adapters.items()):
            if (name and adapter != name) or (env and env_name != env):
                continue
            last = pointer.moves[-1]["at"] if pointer.moves else ""
            rows.append(EnvironmentEntry(env_name, adapter, pointer.version, short(pointer.version), last, pointer.moves))
    return rows




def _check_filters(project: Project, registry, name: str | None, env: str | None) -> None:
    """`envs NAME --env E` with a NAME or E that does not exist is an error, not an empty table."""
    from adapterctl.errors import RefError
    from adapterctl.suggest import closest

    if name is not None:
        known = set(load_manifest(project).adapter_names) | set(registry.names())
        if name not in known:
            close = closest(name, sorted(known))
            raise RefError(f"no adapter named '{name}'" + (f"; did you mean '{close}'?" if close else ""))
    if env is not None and registry.envs and env not in registry.envs:
        close = closest(env, sorted(registry.envs))
        hint = f"; did you mean '{close}'?" if close else f" (environments: {', '.join(sorted(registry.envs))})"
        raise RefError(f"no environment named '{env}'{hint}")


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
    force: bool = False,
) -> list[TrainResult]:
    """Train adapters NAME… from their resolved specs into new versions, one after another.

    The base is loaded once for all of them where quantisation and dtypes agree. Ctrl-C
    raises Interrupted (exit 130) and registers nothing; `resume=True` continues the newest
    interrupted run of each name from its last checkpoint. Data with `data check` errors is
    refused (DataError) unless `force`; the card records the check and any override.
    """
    from adapterctl.train import runner
    from adapterctl.train.results import train_result

    wanted = list(dict.fromkeys(names))
    if all_stale:
        from adapterctl import status as stale

        wanted += [n for n in stale.stale_names(project) if n not in wanted]
        if not wanted:
            ui.info("no adapter is stale: every latest version matches the manifest")
            return []
    if not wanted:
        raise UsageError("name at least one adapter to train, or pass --all-stale")
    from adapterctl.ops import combine as combining
    from adapterctl.train.launch import launcher_options

    launch = launcher_options(launcher, num_processes, accelerate_config)
    combos = combining.combinations(project, wanted, overrides=bool(overrides), resume=resume)
    trained = [n for n in wanted if n not in combos]
    jobs = runner.prepare(project, trained, list(overrides or []), progress=progress, launcher=launch,
                          force=force)
    outcomes = runner.train_all(project, jobs, resume=resume, overrides_given=bool(overrides),
                                message=message) if trained else []
    # Combinations last: an input trained just now is the latest version they combine.
    return [train_result(o) for o in outcomes] + [combining.rebuild(project, n, message=message) for n in combos]


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
    from adapterctl.ops import combine as combining
    from adapterctl.train import sweep as sweeps

    combining.combinations(project, [name], overrides=True, resume=False)  # a combination cannot be swept
    return sweeps.run(project, name, grid, overrides=list(overrides or []), progress=progress, message=message)


# ── serving: serve, generate, sync (see serve/) ──
#
# The HTTP server (serve/server.py) needs the `serve` extra; generate and the vLLM bridge
# (serve/vllm.py) do not. Nothing here imports torch until a model loads.


def serve(project: Project, env: str, *, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          max_loaded: int = 4, max_batch: int = 32) -> None:
    """Serve environment ENV over HTTP until SIGTERM/SIGINT (which drain in-flight requests)."""
    from adapterctl.serve import server

    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: use 1-65535")
    if max_loaded < 0 or max_batch < 1:
        raise UsageError("--max-loaded must be 0 or more and --max-batch at least 1")
    server.run(project, server.ServeOptions(env, host, port, api_key, max_loaded, max_batch))


def generate(project: Project, ref: str, prompt: str, *, max_tokens: int = 128, temperature: float = 0.0,
             chat: bool = False, on_text: Callable[[str], object] | None = None) -> GenerateResult:
    """One answer from version REF (verified), handing each new piece of text to `on_text`."""
    from adapterctl.serve import oneshot

    return GenerateResult(**oneshot.generate(project, ref, prompt, max_tokens=max_tokens,
                                             temperature=temperature, chat=chat, on_text=on_text))


def _sync_if_server(project: Project, env: str) -> SyncReport | None:
    """After a move: drive the environment's server, if the manifest names one (ops/sync.py)."""
    from adapterctl.ops.sync import sync_if_server

    return sync_if_server(project, env)


def sync(project: Project, env: str) -> SyncReport:
    """Make ENV's vLLM server serve what ENV points at: load new versions, unload replaced ones
    whose grace period has passed. The report says whether the server now matches."""
    from adapterctl.ops.sync import sync as sync_op

    return sync_op(project, env)


# ── data: check and fix (see data/hygiene/) ──


def data_check(project: Project, name: str, *, use_cache: bool = True):
    """Hygiene checks of NAME's data files (schema, duplicates, leakage, debris, contradictions,
    length, PII, style, tags) as a hygiene.checker.Report; cached by the files' md5."""
    from adapterctl.data.hygiene import checker

    m = load_manifest(project)
    return checker.check(project, m.adapter(name), m.base, use_cache=use_cache)


def data_fix(project: Project, name: str, out: Path | str):
    """Write a cleaned copy of NAME's data files under OUT, and OUT/fixes.jsonl; the inputs stay as they are."""
    from adapterctl.data.hygiene import fix

    m = load_manifest(project)
    return fix.fix(project, m.adapter(name), Path(out).resolve())


# ── merge, combine, export (see merge/ and ops/combine.py) ──


def merge(project: Project, ref: str, out: Path | str, *, dtype: str | None = None, verify: bool = True,
          into: str = "full", progress: bool = True):
    """Merge version REF into its base weights as a standard HF model folder at `out` (all or nothing)."""
    from adapterctl.merge import merger

    return merger.merge_version(project, ref, Path(out), dtype=dtype, verify=verify, into=into, progress=progress)


def combine(project: Project, refs: list[str], into: str, *, method: str = "linear",
            weights: list[float] | None = None, density: float | None = None, message: str = ""):
    """Combine versions REFS into a new version of INTO (PEFT add_weighted_adapter); its card lists every input."""
    from adapterctl.ops import combine as combining

    return combining.combine(project, list(refs), into, method=method, weights=weights, density=density,
                             message=message)


def export(project: Project, ref: str, fmt: str, out: Path | str, *, dtype: str | None = None,
           verify: bool = True, progress: bool = True):
    """Write version REF for a consumer: a verified PEFT folder, a merged model, or a vLLM LoRA module."""
    from adapterctl.merge import export as exporting

    return exporting.export(project, ref, fmt, Path(out), dtype=dtype, verify=verify, progress=progress)
