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
    """The resolved spec of adapter NAME: defaults ⊕ its tables ⊕ --set overrides."""
    m = load_manifest(project)
    spec = m.adapter(name, manifest.parse_overrides(overrides or []))
    return {
        **spec.to_dict(),
        "base": m.base.model_dump(),
        "spec_hash": manifest.spec_hash(spec, project.root),
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
# Functions for the version store go in this section.


# ── training: train, sweep (see train/) ──
#
# Functions for training go in this section.
