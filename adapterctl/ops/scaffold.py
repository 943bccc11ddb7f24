"""`init`: scaffold a project (git if none, DVC, manifest, prompt template, .gitignore, CI
workflow), optionally with the runnable example on the built-in tiny base model."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from adapterctl import manifest
from adapterctl.core import assets
from adapterctl.core.errors import UsageError
from adapterctl.core.project import MANIFEST, add_to_gitignore, atomic_write
from adapterctl.ops import ci_workflow
from adapterctl.store import gitio, storage

EXAMPLE_BASE = "models/tiny-base"


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
    ci_requirement: str | None = None,
) -> InitResult:
    """Scaffold a project: git (if none), DVC, manifest, prompt template, .gitignore, CI workflow.
    `ci_requirement`: what the workflow installs (default: this adapterctl's exact version)."""
    root = Path(directory).resolve()
    blocking = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UsageError(f"{blocking}: is a file, not a folder; name a new or existing folder for the project")
    if (root / MANIFEST).exists():
        raise UsageError(f"{root / MANIFEST} already exists: this folder is already an adapterctl project")
    if example and base:
        raise UsageError("--example uses the built-in tiny base model; drop --base or --example")
    pins = ci_workflow.requirements_text(ci_requirement)  # a bad SPEC is refused before anything is written
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
    add_to_gitignore(root, (templates / "gitignore").read_text().splitlines())
    workflow = root / ci_workflow.WORKFLOW
    if not workflow.exists():
        atomic_write(workflow, ci_workflow.render_workflow())
    pin = root / ci_workflow.REQUIREMENTS  # what the workflow installs
    if not pin.exists() or ci_requirement is not None:
        atomic_write(pin, pins)

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
    clashes = [p for p in ci_workflow.PROJECT_FOLDERS if (root / p).exists() and any((root / p).iterdir())]
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


def _scaffold_example(root: Path, remote_name: str | None) -> list[str]:
    source = assets.example_dir()
    for folder in ci_workflow.PROJECT_FOLDERS:
        shutil.copytree(source / folder, root / folder, dirs_exist_ok=True)
    text = _as_users_project((source / MANIFEST).read_text(), root.name)
    if remote_name:
        text = text.replace("[project]\n", f'[project]\nremote = "{remote_name}"\n', 1)
    atomic_write(root / MANIFEST, text)
    _build_tiny_base(root)
    tracked = sorted((root / "data").glob("*.jsonl")) + sorted((root / "evals").glob("*.jsonl"))
    storage.track(root, tracked)
    return manifest.load(root / MANIFEST).adapter_names


def _as_users_project(text: str, project_name: str) -> str:
    """The example manifest as the user's own project: named after its folder, and with no
    comment pointing at files of adapterctl's repository that the project does not have."""
    import json

    lines = [line for line in text.splitlines(keepends=True) if "scripts/make_example.py" not in line]
    text = "".join(lines).replace('name = "example"', f"name = {json.dumps(project_name)}", 1)
    return text


def _build_tiny_base(root: Path) -> None:
    from adapterctl import tiny
    from adapterctl.core.project import new_file_mode

    folder = tiny.build_tiny_model(root / EXAMPLE_BASE)
    for path in Path(folder).rglob("*"):  # some writers (safetensors) create 0600 files
        if path.is_file() and not path.is_symlink():
            path.chmod(new_file_mode())
    storage.track(root, [root / EXAMPLE_BASE])
