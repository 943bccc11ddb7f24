"""`import`: adopt an existing PEFT adapter folder as a version, under the project lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapterctl.core.project import Project
from adapterctl.ops import changes_state


@dataclass
class ImportResult:
    ref: str
    name: str
    id: str
    path: Path
    card: Path
    new: bool  # False when this content was already a version


@changes_state
def import_adapter(
    project: Project, name: str, path: Path, *, message: str = "", any_base: bool = False
) -> ImportResult:
    """Adopt the folder at `path` as a version of NAME (versions/adopt.py checks and registers it)."""
    from adapterctl import versions

    before = {v.id for v in versions.log(project, name)}
    v = versions.import_folder(project, name, Path(path), message=message, any_base=any_base)
    return ImportResult(v.ref, v.name, v.id, v.path, v.card_path, v.id not in before)
