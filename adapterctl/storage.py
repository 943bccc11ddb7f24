"""The only module that talks to DVC. Data files, base models and version folders are
DVC-tracked; this module adds them, and moves them to and from the remote."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from adapterctl.errors import StorageError


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """DVC logs hints meant for its own CLI ('git add ...'); our users see ours instead."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _open(root: Path):
    from dvc.repo import Repo

    return Repo(str(root))


def init(root: Path, *, subdir: bool = False) -> None:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with _quiet():
            Repo.init(str(root), subdir=subdir)
    except DvcException as exc:
        raise StorageError(f"dvc init failed in {root}: {exc}") from None


def add_remote(root: Path, name: str, url: str, *, default: bool = True) -> None:
    """Record a DVC remote in .dvc/config (committed, so clones know where data lives)."""
    with _open(root) as repo, repo.config.edit("repo") as conf:
        conf["remote"][name] = {"url": url}
        if default:
            conf["core"]["remote"] = name


def track(root: Path, paths: Sequence[Path]) -> None:
    """`dvc add` each path: its content goes to the cache, a .dvc file records its md5."""
    from dvc.exceptions import DvcException

    targets = [str(p) for p in paths]
    try:
        with _quiet(), _open(root) as repo:
            repo.add(targets)
    except DvcException as exc:
        raise StorageError(f"dvc add {' '.join(targets)} failed: {exc}") from None


# ── version folders and the remote ────────────────────────────────────────────


def dvc_file(path: Path) -> Path:
    """The .dvc file that `track` writes beside `path`."""
    return path.with_name(path.name + ".dvc")


def remote_name(root: Path, preferred: str | None = None) -> str | None:
    """The remote push/pull use: `preferred` (the manifest's) or DVC's default; None if there is none."""
    with _open(root) as repo:
        remotes = repo.config["remote"]
        if preferred:
            if preferred not in remotes:
                known = ", ".join(remotes) or "none"
                raise StorageError(
                    f"adapterctl.toml: project.remote = {preferred!r} is not a DVC remote (configured: {known})"
                )
            return preferred
        return repo.config["core"].get("remote") or None


def push(root: Path, paths: Sequence[Path] | None, remote: str | None) -> int:
    """Upload the cache objects of `paths` (all tracked outputs when None); returns how many moved."""
    from dvc.exceptions import DvcException

    targets = None if paths is None else [str(dvc_file(p)) for p in paths]
    try:
        with _quiet(), _open(root) as repo:
            return int(repo.push(targets=targets, remote=remote) or 0)
    except DvcException as exc:
        raise StorageError(f"dvc push to remote {remote or '(default)'} failed: {exc}") from None


def pull(root: Path, paths: Sequence[Path] | None, remote: str | None, *, force: bool = False) -> None:
    """Download and check out `paths` (all tracked outputs when None). `force` overwrites local
    edits: right for version folders, which are immutable (a modified copy is a corrupt one)."""
    from dvc.exceptions import DvcException

    targets = None if paths is None else [str(dvc_file(p)) for p in paths]
    try:
        with _quiet(), _open(root) as repo:
            repo.pull(targets=targets, remote=remote, force=force)
    except DvcException as exc:
        where = f"remote {remote}" if remote else "the default remote"
        raise StorageError(f"dvc pull from {where} failed: {exc}") from None


def md5(path: Path) -> str | None:
    """The md5 DVC recorded for `path` in its .dvc file, or None when it is not tracked."""
    from dvc.utils.serialize import load_yaml

    meta = dvc_file(path)
    if not meta.exists():
        return None
    outs = load_yaml(str(meta)).get("outs") or [{}]
    return outs[0].get("md5")


def cached_file(root: Path, md5_hex: str) -> Path | None:
    """The local cache copy of a file object, if present (old data versions live there)."""
    with _open(root) as repo:
        path = Path(repo.cache.local.oid_to_path(md5_hex))
    return path if path.is_file() else None


def _objects(odb, dir_oid: str) -> list[str] | None:
    """The .dir object and the file objects it lists, read from `odb`; None if not there."""
    import json

    if not odb.exists(dir_oid):
        return None
    with odb.fs.open(odb.oid_to_path(dir_oid), "r") as f:
        entries = json.load(f)
    return [dir_oid, *(e["md5"] for e in entries)]


def availability(root: Path, path: Path, remote: str | None) -> tuple[bool, bool]:
    """(local, remote): whether a tracked folder's content is in the local cache or the workspace,
    and whether the remote holds all its objects (False when no remote is configured)."""
    from dvc.exceptions import DvcException

    dir_oid = md5(path)
    if dir_oid is None:
        return path.is_dir(), False
    with _quiet(), _open(root) as repo:
        local_objs = _objects(repo.cache.local, dir_oid)
        local = path.is_dir() or (local_objs is not None and all(repo.cache.local.exists(o) for o in local_objs))
        name = remote or repo.config["core"].get("remote")
        if not name:
            return local, False
        try:
            odb = repo.cloud.get_remote_odb(name, "status")
            objs = _objects(odb, dir_oid)
            on_remote = objs is not None and all(odb.exists(o) for o in objs)
        except DvcException as exc:
            raise StorageError(f"cannot reach DVC remote {name}: {exc}") from None
        except OSError:
            on_remote = False
    return local, on_remote


def drop_local(root: Path, path: Path, keep: Sequence[Path]) -> int:
    """Delete a tracked folder from the workspace and its objects from the local cache, except
    objects that the tracked folders in `keep` share with it. Returns the bytes freed."""
    import shutil

    freed = 0
    dir_oid = md5(path)
    with _open(root) as repo:
        cache = repo.cache.local
        doomed = set(_objects(cache, dir_oid) or []) if dir_oid else set()
        for other in keep:
            other_oid = md5(other)
            if other_oid:
                doomed -= set(_objects(cache, other_oid) or [])
        for oid in doomed:
            file = Path(cache.oid_to_path(oid))
            if file.exists():
                freed += file.stat().st_size
                file.unlink()
    if path.is_dir():
        freed += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
    return freed


def untrack(path: Path) -> None:
    """Forget a folder that was being registered: its .dvc file and workspace copy.
    Cache objects stay; they are content-addressed and harmless."""
    import shutil

    dvc_file(path).unlink(missing_ok=True)
    if path.is_dir():
        shutil.rmtree(path)
