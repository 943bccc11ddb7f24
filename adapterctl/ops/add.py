"""`add`: declare a new adapter in the manifest, keeping the user's comments and formatting."""

from __future__ import annotations

from pathlib import Path

from adapterctl import manifest
from adapterctl.core.errors import ManifestError, UsageError
from adapterctl.core.project import MANIFEST, Project, atomic_write
from adapterctl.ops import changes_state


@changes_state
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
    current = manifest.load(project.manifest_path)
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
