"""`gc`: drop local copies of versions nothing here needs any more (cards always stay)."""

from __future__ import annotations

from dataclasses import dataclass

from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.ops import changes_state
from adapterctl.ops.transfer import remote
from adapterctl.store import storage
from adapterctl.versions import Version
from adapterctl.versions.registry import Registry


@dataclass
class GcEntry:
    ref: str
    id: str
    reason: str  # why it goes, or why it stays


@dataclass
class GcResult:
    dry_run: bool
    keep_last: int
    remove: list[GcEntry]
    kept: list[GcEntry]  # unneeded but kept: not safely on the remote
    freed_bytes: int = 0


def gc(project: Project, *, keep_last: int = 3, force: bool = False) -> GcResult:
    """Drop local copies (workspace folder and DVC cache objects) of versions that no environment
    and none of the last `keep_last` log entries need. Only versions the remote holds go:
    gc never deletes the last copy. Cards stay, so history and `pull` keep working."""
    if keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    return _gc(project, keep_last, force, remote(project, required=False))


@changes_state
def _gc(project: Project, keep_last: int, force: bool, remote_name: str | None) -> GcResult:
    registry = Registry(project)
    served = registry.served_ids()
    remove: list[tuple[Version, GcEntry]] = []
    kept: list[GcEntry] = []
    stay: list[Version] = []
    for name in registry.names():
        vs = registry.log(name)
        recent = {v.id for v in vs[:keep_last]}
        for v in vs:
            if v.id in served or v.id in recent:
                stay.append(v)
                continue
            local, on_remote = storage.availability(project.root, v.path, remote_name)
            if not local:
                stay.append(v)
            elif not on_remote:
                kept.append(GcEntry(v.ref, v.id, "not on the remote: push it first"))
                stay.append(v)
            else:
                remove.append((v, GcEntry(v.ref, v.id, "not served, not recent, on the remote")))
    freed = 0
    if force:
        for v, _ in remove:  # every check first: a refusal must not come after half the deletions
            _check_removable(project, v)
        keep_paths = [v.path for v in stay]
        for v, _ in remove:
            freed += storage.drop_local(project.root, v.path, keep_paths)
    return GcResult(not force, keep_last, [e for _, e in remove], kept, freed)


def _check_removable(project: Project, version: Version) -> None:
    """A real version folder inside the project, with its .dvc record: gc deletes nothing else."""
    project.check_inside(version.path)
    if version.path.is_symlink():
        raise UsageError(
            f"{project.relpath(version.path)} is a symlink, not a version folder; gc deleted nothing "
            "(replace the link with the folder, or remove it yourself)"
        )
    if storage.md5(version.path) is None:
        raise UsageError(f"{project.relpath(version.path)}: no .dvc record; gc deleted nothing")
