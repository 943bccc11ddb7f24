"""The Python API: one function per command, the project first.

The CLI only parses arguments, calls these, and renders what they return. Functions here
import nothing heavy at module level: `list`, `show`, `validate` never load torch.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl import assets, gitio, manifest, storage, ui
from adapterctl.errors import ManifestError, UsageError
from adapterctl.project import MANIFEST, Project, atomic_write, find_project

EXAMPLE_BASE = "models/tiny-base"


def open_project(path: Path | str | None = None) -> Project:
    return find_project(path)


def load_manifest(project: Project) -> manifest.Manifest:
    return manifest.load(project.manifest_path)


# ── init ──────────────────────────────────────────────────────────────────────


@dataclass
class InitResult:
    root: Path
    created_git: bool
    example: bool
    base_model: str
    remote: str | None
    adapters: list[str]
    commit: str | None


def init(
    directory: Path | str = ".",
    *,
    example: bool = False,
    base: str | None = None,
    remote: str | None = None,
) -> InitResult:
    """Scaffold a project: git (if none), DVC, manifest, prompt template, .gitignore, CI workflow."""
    root = Path(directory).resolve()
    if (root / MANIFEST).exists():
        raise UsageError(f"{root / MANIFEST} already exists: this folder is already an adapterctl project")
    if example and base:
        raise UsageError("--example uses the built-in tiny base model; drop --base or --example")
    root.mkdir(parents=True, exist_ok=True)
    _refuse_example_overwrite(root, example)

    git_top = gitio.toplevel(root)
    created_git = git_top is None
    if created_git:
        gitio.init(root)
    if not (root / ".dvc").is_dir():
        storage.init(root, subdir=git_top is not None and git_top.resolve() != root)
    remote_name = None
    if remote:
        remote_name = "storage"
        storage.add_remote(root, remote_name, _remote_url(remote))

    templates = assets.templates_dir()
    _append_gitignore(root, (templates / "gitignore").read_text())
    workflow = root / ".github/workflows/adapters.yml"
    if not workflow.exists():
        atomic_write(workflow, (templates / "workflows/adapters.yml").read_text())

    if example:
        base_model = EXAMPLE_BASE
        adapters = _scaffold_example(root, remote_name)
    else:
        base_model = base or EXAMPLE_BASE
        adapters = []
        prompt = root / "templates/default.txt"
        if not prompt.exists():
            atomic_write(prompt, (templates / "prompt.txt").read_text())
        atomic_write(root / MANIFEST, _render_manifest(root.name, base_model, remote_name))
        if base is None:  # nothing named: the built-in tiny model keeps the project runnable offline
            _build_tiny_base(root)
    manifest.load(root / MANIFEST)  # what init writes must itself validate

    commit = gitio.commit_all(root, "adapterctl init") if created_git else None
    return InitResult(root, created_git, example, base_model, remote_name, adapters, commit)


def _refuse_example_overwrite(root: Path, example: bool) -> None:
    if not example:
        return
    clashes = [p for p in ("data", "evals", "templates") if (root / p).exists() and any((root / p).iterdir())]
    if clashes:
        raise UsageError(f"{root}: {', '.join(clashes)} already exist; init --example needs an empty folder")


def _remote_url(remote: str) -> str:
    """A plain path becomes an absolute local-folder remote; URLs (s3://, ssh://) pass through."""
    if "://" in remote:
        return remote
    path = Path(remote).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _render_manifest(project_name: str, base_model: str, remote_name: str | None) -> str:
    text = (assets.templates_dir() / "adapterctl.toml").read_text()
    return (
        text.replace("{project_name}", project_name)
        .replace("{base_model}", base_model)
        .replace("{remote_line}", f'remote = "{remote_name}"\n' if remote_name else "")
        .replace("{revision_line}", "")
    )


def _append_gitignore(root: Path, block: str) -> None:
    path = root / ".gitignore"
    current = path.read_text() if path.exists() else ""
    missing = [line for line in block.splitlines() if line and line not in current.splitlines()]
    if missing:
        sep = "" if not current or current.endswith("\n") else "\n"
        atomic_write(path, current + sep + "\n".join(missing) + "\n")


def _scaffold_example(root: Path, remote_name: str | None) -> list[str]:
    source = assets.example_dir()
    for folder in ("data", "evals", "templates"):
        shutil.copytree(source / folder, root / folder, dirs_exist_ok=True)
    text = (source / MANIFEST).read_text()
    if remote_name:
        text = text.replace("[project]\n", f'[project]\nremote = "{remote_name}"\n', 1)
    atomic_write(root / MANIFEST, text)
    _build_tiny_base(root)
    tracked = sorted((root / "data").glob("*.jsonl")) + sorted((root / "evals").glob("*.jsonl"))
    storage.track(root, tracked)
    return manifest.load(root / MANIFEST).adapter_names


def _build_tiny_base(root: Path) -> None:
    from adapterctl import tiny

    tiny.build_tiny_model(root / EXAMPLE_BASE)
    storage.track(root, [root / EXAMPLE_BASE])


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
    import tomlkit

    manifest.check_adapter_name(name)
    with project.lock():
        current = load_manifest(project)
        if name in current.raw_adapters:
            raise UsageError(f"{MANIFEST}: adapter '{name}' already exists (edit [adapters.{name}] instead)")
        doc = tomlkit.parse(current.text)
        table = tomlkit.table()
        if description:
            table["description"] = description
        table["data"] = _project_relative(project, data, "--data")
        if eval_data:
            table["eval_data"] = _project_relative(project, eval_data, "--eval")
        if template:
            table["template"] = _project_relative(project, template, "--template")
        adapters = doc.setdefault("adapters", tomlkit.table(is_super_table=True))
        adapters[name] = table
        new_text = tomlkit.dumps(doc)
        updated = manifest.from_dict(tomlkit.parse(new_text).unwrap(), project.manifest_path, new_text)
        problems = [p for p in manifest.check_files(updated) if f"adapters.{name}." in p]
        if problems:
            raise ManifestError(problems[0])
        atomic_write(project.manifest_path, new_text)
    return updated.adapter(name)


def _project_relative(project: Project, path: str, option: str) -> str:
    target = (Path.cwd() / path).resolve()
    if not target.is_relative_to(project.root):
        raise UsageError(f"{option} {path}: the file must be inside the project ({project.root})")
    return project.relpath(target)


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
                spec_hash=manifest.spec_hash(spec, project.root)[:12],
            )
        )
    return out


def show_spec(project: Project, name: str, overrides: list[str] | None = None) -> dict[str, Any]:
    """The resolved spec of adapter NAME: defaults ⊕ its tables ⊕ --set overrides, and the
    id of its latest version (None before the first)."""
    from adapterctl import versions

    m = load_manifest(project)
    spec = m.adapter(name, manifest.parse_overrides(overrides or []))
    history = versions.log(project, name)
    return {
        **spec.to_dict(),
        "base": m.base.model_dump(),
        "spec_hash": manifest.spec_hash(spec, project.root),
        "latest": history[0].id if history else None,
    }


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
    if not base_path.exists() and not Path(f"{base_path}.dvc").exists() and not m.base.revision:
        warnings.append(f"{MANIFEST}: base.revision is not set: pin the hub revision of {m.base.model!r}")
    for warning in warnings:
        ui.warn(warning)
    return ValidationReport(str(project.manifest_path), m.adapter_names, warnings)


# ── versions: log, status, environments, transfer (see versions.py, storage.py) ──
#
# Functions for the version store go in this section. The store lives in versions.py
# (register, resolve, log), environments.py (adapterctl.lock), releases.py (deploy,
# rollback, push, pull, gc) and staleness.py (status); these wrappers shape results for
# the CLI. None of them imports torch.


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
    from adapterctl import environments, versions

    versions.recover_if_idle(project)
    history = versions.log(project, name)
    if not history:
        versions.resolve(project, name, verify=False)  # raises the right "no versions" error
    envs = environments.load(project)
    serving = environments.pointing_at(envs, name)
    known = {v.id for v in history}
    for vid, names in serving.items():
        if vid not in known:
            ui.warn(f"{', '.join(names)} serves {name}@{vid[:12]}, whose card is not on this branch")
    return [
        LogEntry(
            name=name,
            id=v.id,
            short=v.short,
            created=v.created,
            message=str(v.card.get("message", "")),
            parent=v.parent,
            metrics=_key_metrics(v.card),
            environments=serving.get(v.id, []),
            path=str(v.path),
        )
        for v in history[:limit]
    ]


def _key_metrics(card: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics from the card, one level of nesting flattened (`val.loss`)."""
    out: dict[str, Any] = {}
    for key, value in (card.get("metrics") or {}).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def status(project: Project, names: list[str] | None = None):
    """Per adapter: up to date, stale (with reasons) or never trained."""
    from adapterctl import staleness, versions

    versions.recover_if_idle(project)
    return staleness.status(project, names)


def show_version(project: Project, ref: str) -> dict[str, Any]:
    """The card of the version REF names, plus where it is and which environments serve it."""
    from adapterctl import environments, versions

    version = versions.resolve(project, ref, verify=False)
    serving = environments.pointing_at(environments.load(project), version.name)
    return {
        **version.card,
        "path": str(version.path),
        "local": version.path.is_dir(),
        "environments": serving.get(version.id, []),
    }


def deploy(project: Project, ref: str, env: str, *, message: str = "", force: bool = False):
    """Point environment ENV at the version REF names (verified first)."""
    from adapterctl import releases

    result = releases.deploy(project, ref, env, message=message, force=force)
    result.sync = _sync_if_server(project, env)
    return result


def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = ""):
    """Move ENV's pointer for NAME back to its previous target, or to the version `to` names."""
    from adapterctl import releases

    result = releases.rollback(project, name, env, to=to, message=message)
    result.sync = _sync_if_server(project, env)
    return result


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
    from adapterctl import environments as envs_module

    rows = []
    for env_name, adapters in sorted(envs_module.load(project).items()):
        for adapter, pointer in sorted(adapters.items()):
            if (name and adapter != name) or (env and env_name != env):
                continue
            last = pointer.moves[-1]["at"] if pointer.moves else ""
            rows.append(EnvironmentEntry(env_name, adapter, pointer.version, pointer.version[:12], last, pointer.moves))
    return rows


@dataclass
class ResolvedVersion:
    ref: str
    name: str
    id: str
    path: Path


def resolve(project: Project, ref: str, *, pull: bool = False) -> ResolvedVersion:
    """The local folder of the verified version REF names (fetched from the remote with `pull`)."""
    from adapterctl import releases, versions

    versions.recover_if_idle(project)
    v = releases.local_path(project, ref, pull=pull)
    return ResolvedVersion(v.ref, v.name, v.id, v.path)


def push(project: Project, ref: str | None = None):
    """Upload a version's weights to the DVC remote, or everything DVC tracks."""
    from adapterctl import releases

    return releases.push(project, ref)


def pull(project: Project, ref: str | None = None):
    """Fetch a version (only that one) or everything DVC tracks; verify what arrives."""
    from adapterctl import releases

    return releases.pull(project, ref)


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


def gc(project: Project, *, keep_last: int = 3, force: bool = False):
    """Drop local copies of versions no environment and no recent log entry needs (dry run unless force)."""
    from adapterctl import releases

    return releases.gc(project, keep_last=keep_last, force=force)


# ── training: train, sweep (see train/) ──
#
# Functions for training go in this section. train/runner.py runs the jobs (in this process
# or under accelerate) and registers what they produce; these wrappers validate arguments
# and shape results for the CLI. Nothing here imports torch until a job runs.


@dataclass
class TrainResult:
    adapter: str
    version: str | None  # the full id; None when nothing was registered
    short: str | None
    parent: str | None
    run_id: str
    steps: int
    val_loss: dict[str, Any]
    train_seconds: float
    tokens_per_second: float | None
    notices: list[str]
    sweep: dict[str, Any] | None = None


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
    return [_train_result(o) for o in outcomes]


def _launcher(kind: str, num_processes: int | None, config: str | None) -> dict[str, Any]:
    if kind not in ("none", "accelerate"):
        raise UsageError(f"--launcher {kind}: use none or accelerate")
    if kind == "none" and (num_processes or config):
        raise UsageError("--num-processes and --accelerate-config need --launcher accelerate")
    if num_processes is not None and num_processes < 1:
        raise UsageError("--num-processes must be at least 1")
    if config is not None:
        from adapterctl.train.launch import CONFIGS

        if config not in CONFIGS and not Path(config).expanduser().is_file():
            raise UsageError(f"--accelerate-config {config}: use {', '.join(CONFIGS)} or a path to a YAML file")
        config = config if config in CONFIGS else str(Path(config).expanduser().resolve())
    return {"kind": kind, "num_processes": num_processes or (1 if kind == "none" else None), "config": config}


def _stale_adapters(project: Project) -> list[str]:
    """Adapters whose latest version no longer matches the manifest, or that have none yet."""
    from adapterctl import staleness

    return [row.name for row in staleness.status(project) if row.state in (staleness.STALE, staleness.NEVER)]


def _train_result(outcome: Any) -> TrainResult:
    summary, version = outcome.summary, outcome.version
    return TrainResult(
        adapter=outcome.adapter,
        version=version.id if version is not None else None,
        short=version.id[:12] if version is not None else None,
        parent=(version.card.get("parent") or None) if version is not None else None,
        run_id=outcome.run_id,
        steps=summary.get("steps", 0),
        val_loss=summary.get("val_loss", {}),
        train_seconds=summary.get("train_seconds", 0.0),
        tokens_per_second=summary.get("tokens_per_second"),
        notices=list(outcome.notices),
        sweep=outcome.sweep,
    )


@dataclass
class SweepResult:
    sweep_id: str
    adapter: str
    metric: str
    best: str | None  # version id of the best candidate
    candidates: list[TrainResult]  # best first


def sweep(
    project: Project,
    name: str,
    grid: list[str],
    *,
    overrides: list[str] | None = None,
    progress: str = "auto",
    message: str = "",
) -> SweepResult:
    """Train every combination of the grid's values as a candidate version of NAME.

    Candidates are ranked by val loss (lowest first). Each is registered with the sweep id,
    its parameters and rank in its card; the best is registered last, so it becomes the
    adapter's latest version, and is marked `best`.
    """
    import json

    from adapterctl.train import runner, runs
    from adapterctl.train import sweep as sweeps

    axes = sweeps.parse_grid(grid)
    if not axes:
        raise UsageError("give the grid as --set TABLE.KEY=V1,V2,... (e.g. train.learning_rate=1e-4,2e-4)")
    sweep_id = sweeps.new_id()
    combos = sweeps.expand(axes)
    base = list(overrides or [])
    jobs = []
    for i, combo in enumerate(combos, start=1):
        info = {"id": sweep_id, "candidate": i, "of": len(combos), "params": sweeps.params(combo)}
        jobs += runner.prepare(project, [name], base + combo, progress=progress,
                               launcher={"kind": "none", "num_processes": 1, "config": None}, sweep=info)
    spec = jobs[0].adapter_spec()
    if not spec.val_data and spec.train.val_split == 0:
        raise UsageError(f"sweep ranks by val loss: give '{name}' val_data or a val_split above 0")
    outcomes = runner.train_all(project, jobs, do_register=False)
    order = sweeps.rank([o.summary["val_loss"].get("final") for o in outcomes])
    # Worst first, best last: the best becomes the adapter's latest version.
    for rank_pos, index in reversed(list(enumerate(order, start=1))):
        outcome, job = outcomes[index], jobs[index]
        outcome.sweep = {**job.sweep, "rank": rank_pos, "best": rank_pos == 1, "metric": "val_loss",
                         "value": outcome.summary["val_loss"].get("final")}
        outcome.version = runner.register(project, runs.load(runs.runs_dir(project) / outcome.run_id), job,
                                          message=message or f"{sweep_id} candidate {job.sweep['candidate']}",
                                          card_extra={"sweep": outcome.sweep})
    results = [_train_result(outcomes[i]) for i in order]
    record = SweepResult(sweep_id, name, "val_loss", results[0].version if results else None, results)
    atomic_write(project.state_dir / "sweeps" / f"{sweep_id}.json",
                 json.dumps(ui.to_jsonable(record), indent=2) + "\n")
    return record


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


@dataclass
class GenerateResult:
    ref: str
    version: str
    prompt: str
    text: str
    finish_reason: str
    usage: dict[str, int]


def generate(project: Project, ref: str, prompt: str, *, max_tokens: int = 128, temperature: float = 0.0,
             chat: bool = False, on_text: Any = None) -> GenerateResult:
    """One answer from version REF (verified), handing each new piece of text to `on_text`."""
    from adapterctl.serve import oneshot

    return GenerateResult(**oneshot.generate(project, ref, prompt, max_tokens=max_tokens,
                                             temperature=temperature, chat=chat, on_text=on_text))


def _sync_if_server(project: Project, env: str):
    """After a move: drive the environment's server, if the manifest names one."""
    from adapterctl.serve import vllm

    if vllm.target(project, env) is None:
        return None
    with project.lock():
        return vllm.sync(project, env)


def sync(project: Project, env: str):
    """Make ENV's vLLM server serve what ENV points at: load new versions, unload replaced ones
    whose grace period has passed. The report says whether the server now matches."""
    from adapterctl.serve import vllm

    with project.lock():
        return vllm.sync(project, env)
