"""Moving versions between this machine and the DVC remote: push, pull, and `resolve --pull`.

Every path that hands weights onward verifies them against their id first; a mismatch is
an IntegrityError, which no --force overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapterctl import manifest, versions
from adapterctl.core import ui
from adapterctl.core.errors import IntegrityError, StorageError
from adapterctl.core.project import Project
from adapterctl.ops import changes_state
from adapterctl.store import storage
from adapterctl.store.storage_progress import TransferCount
from adapterctl.versions import Version
from adapterctl.versions.registry import Registry


@dataclass
class TransferResult:
    remote: str
    targets: list[str]  # version refs, or ["everything"]
    files: int = 0  # objects transferred (uploaded by push, downloaded by pull; 0 when all were there)
    bytes: int = 0  # their size
    verified: list[str] = field(default_factory=list)  # pull: the versions checked against their ids

    def add(self, count: TransferCount) -> None:
        self.files += count.files
        self.bytes += count.bytes


class _Progress:
    """The live files/bytes line of one push or pull: DVC may run several transfers (versions,
    then data); the line shows their sum."""

    def __init__(self, update) -> None:
        self.update = update
        self.done: list[TransferCount] = []

    def __call__(self, count: TransferCount) -> None:
        finished = self.done
        self.update(
            sum(c.files for c in finished) + count.files,
            sum(c.files_total for c in finished) + count.files_total,
            sum(c.bytes for c in finished) + count.bytes,
        )


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


def push(project: Project, ref: str | None = None, *, jobs: int | None = None) -> TransferResult:
    """Upload one version's weights, or every DVC-tracked output (versions, data, base).
    `jobs`: parallel transfers (DVC's default when None)."""
    name = remote(project, required=True)
    assert name is not None
    storage.clean_partial_uploads(project.root, name)
    if ref is None:
        result = TransferResult(name, ["everything"])
        with ui.transfer_progress(f"pushing to {name}") as update:
            result.add(storage.push(project.root, None, name, jobs=jobs, progress=_Progress(update)))
        return result
    version = versions.resolve(project, ref, verify=False)
    result = TransferResult(name, [version.ref])
    with ui.transfer_progress(f"pushing {version.ref} to {name}") as update:
        result.add(storage.push(project.root, [version.path], name, jobs=jobs, progress=_Progress(update)))
    if not storage.availability(project.root, version.path, name)[1]:  # DVC only warns when objects are missing
        raise StorageError(f"{version.ref}: not pushed: its weights are not in this machine's DVC cache")
    return result


def pull(project: Project, ref: str | None = None, *, jobs: int | None = None) -> TransferResult:
    """Download one version (only that one) or everything tracked; downloaded weights are verified."""
    name = remote(project, required=True)
    assert name is not None
    with ui.transfer_progress(f"pulling from {name}") as update:
        return _pull(project, ref, name, _Progress(update), jobs)


@changes_state
def _pull(project: Project, ref: str | None, name: str, progress: _Progress, jobs: int | None) -> TransferResult:
    def fetch(paths, *, force: bool = True, result: TransferResult) -> None:
        count = storage.pull(project.root, paths, name, force=force, jobs=jobs, progress=progress)
        progress.done.append(count)
        result.add(count)

    if ref is not None:
        version = versions.resolve(project, ref, verify=False)
        project.check_inside(version.path)
        result = TransferResult(name, [version.ref], verified=[version.ref])
        _pull_verified(project, version, name, lambda paths: fetch(paths, result=result))
        _check_structure(project, [version])
        return result
    every = Registry(project).all_versions()
    result = TransferResult(name, ["everything"], verified=[v.ref for v in every])
    for v in every:  # all checked before any is written
        project.check_inside(v.path)
    if every:  # versions first and forced; then the rest, keeping the user's unsaved data edits
        fetch([v.path for v in every], result=result)
    fetch(None, force=False, result=result)
    for v in every:
        try:
            versions.check_weights(v)
        except IntegrityError:
            _pull_verified(project, v, name, lambda paths: fetch(paths, result=result))
    _check_structure(project, every)
    return result


def _check_structure(project: Project, pulled: list[Version]) -> None:
    """Pulled weights that hash to their id can still be broken (NaN, a config that lies about
    its tensors): refuse them here rather than at the first load."""
    from adapterctl.versions.base_identity import unhashed_manifest_base

    base = unhashed_manifest_base(project)
    for v in pulled:
        base.check_structure(v)


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
    _pull_verified(project, version, name, lambda paths: storage.pull(project.root, paths, name, force=True))


def _pull_verified(project: Project, version: Version, name: str | None, fetch: Callable[[list], object]) -> None:
    """Pull one version (with `fetch`) and verify it. A copy that still fails came from a damaged
    local cache object or a damaged remote one: drop the local objects and fetch again, and if
    that copy fails too, the remote's is the bad one: say so (pulling again would fetch it again)."""
    fetch([version.path])
    try:
        versions.check_weights(version)
        return
    except IntegrityError:
        pass
    others = [v.path for v in Registry(project).all_versions() if v.id != version.id]
    storage.drop_local(project.root, version.path, others)
    fetch([version.path])
    problem = versions.weights_problem(version)
    if problem:
        raise IntegrityError(
            f"{version.ref}: the copy on remote {name or '(default)'} is corrupt ({problem}); pulling again "
            "fetches the same bytes: delete the version's objects from the remote (DVC never overwrites an "
            f"object it finds there), then `adapterctl push {version.ref}` from a machine whose copy verifies"
        )
