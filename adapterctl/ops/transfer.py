"""Moving versions between this machine and the DVC remote: push, pull, and `resolve --pull`.

Every path that hands weights onward verifies them against their id first; a mismatch is
an IntegrityError, which no --force overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapterctl import manifest, storage, ui, versions
from adapterctl.errors import IntegrityError, StorageError
from adapterctl.ops import changes_state
from adapterctl.project import Project
from adapterctl.registry import Registry
from adapterctl.versions import Version


@dataclass
class TransferResult:
    remote: str
    targets: list[str]  # version refs, or ["everything"]
    files: int = 0  # objects transferred (push) ; versions verified (pull)
    verified: list[str] = field(default_factory=list)
    downloaded: int | None = None  # pull: files fetched from the remote (0: all came from the local cache)


def remote(project: Project, *, required: bool) -> str | None:
    """The DVC remote to use: the manifest's project.remote, else DVC's default."""
    preferred = manifest.load(project.manifest_path).project.remote
    name = storage.remote_name(project.root, preferred)
    if name is None and required:
        raise StorageError(
            "no DVC remote configured: add one with `dvc remote add -d NAME URL` "
            "(or create the project with `adapterctl init --remote PATH`)"
        )
    return name


def push(project: Project, ref: str | None = None) -> TransferResult:
    """Upload one version's weights, or every DVC-tracked output (versions, data, base)."""
    name = remote(project, required=True)
    assert name is not None
    storage.clean_partial_uploads(project.root, name)
    if ref is None:
        return TransferResult(name, ["everything"], storage.push(project.root, None, name))
    version = versions.resolve(project, ref, verify=False)
    moved = storage.push(project.root, [version.path], name)
    if not storage.availability(project.root, version.path, name)[1]:  # DVC only warns when objects are missing
        raise StorageError(f"{version.ref}: not pushed: its weights are not in this machine's DVC cache")
    return TransferResult(name, [version.ref], moved)


def pull(project: Project, ref: str | None = None) -> TransferResult:
    """Download one version (only that one) or everything tracked; downloaded weights are verified."""
    name = remote(project, required=True)
    assert name is not None
    return _pull(project, ref, name)


@changes_state
def _pull(project: Project, ref: str | None, name: str) -> TransferResult:
    if ref is not None:
        version = versions.resolve(project, ref, verify=False)
        project.check_inside(version.path)
        downloaded = _pull_verified(project, version, name)
        return TransferResult(name, [version.ref], 1, [version.ref], downloaded)
    every = Registry.load(project).all_versions()
    for v in every:  # all checked before any is written
        project.check_inside(v.path)
    downloaded = 0
    if every:  # versions first and forced; then the rest, keeping the user's unsaved data edits
        downloaded += storage.pull(project.root, [v.path for v in every], name, force=True)
    downloaded += storage.pull(project.root, None, name)
    for v in every:
        try:
            versions.check_weights(v)
        except IntegrityError:
            downloaded += _pull_verified(project, v, name)
    return TransferResult(name, ["everything"], len(every), [v.ref for v in every], downloaded)


def local_path(project: Project, ref: str, *, pull: bool = False) -> Version:
    """The verified local version REF names, for deployment scripts; fetched first with `pull`."""
    version = versions.resolve(project, ref, verify=False)
    if pull:
        try:
            versions.check_weights(version)
            return version
        except IntegrityError:
            ui.warn(f"{version.ref}: the local copy does not match its id; fetching a fresh copy")
        except StorageError:
            pass  # not here yet: fetch it
        _fetch(project, version, remote(project, required=True))
    versions.check_weights(version)
    return version


@changes_state
def _fetch(project: Project, version: Version, name: str | None) -> None:
    project.check_inside(version.path)
    _pull_verified(project, version, name)


def _pull_verified(project: Project, version: Version, name: str | None) -> int:
    """Pull one version and verify it. A copy that still fails came from a damaged local cache
    object or a damaged remote one: drop the local objects and fetch again, and if that copy
    fails too, the remote's is the bad one: say so (pulling again would fetch it again).
    Returns the files downloaded from the remote."""
    downloaded = storage.pull(project.root, [version.path], name, force=True)
    try:
        versions.check_weights(version)
        return downloaded
    except IntegrityError:
        pass
    others = [v.path for v in Registry.load(project).all_versions() if v.id != version.id]
    storage.drop_local(project.root, version.path, others)
    downloaded += storage.pull(project.root, [version.path], name, force=True)
    problem = versions.weights_problem(version)
    if problem:
        raise IntegrityError(
            f"{version.ref}: the copy on remote {name or '(default)'} is corrupt ({problem}); pulling again "
            "fetches the same bytes: delete the version's objects from the remote (DVC never overwrites an "
            f"object it finds there), then `adapterctl push {version.ref}` from a machine whose copy verifies"
        )
    return downloaded
