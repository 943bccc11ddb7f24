"""The only module that talks to DVC. Data files, base models and version folders are
DVC-tracked; this module adds them, and moves them to and from the remote."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from adapterctl.core.errors import IncompleteTransfer, StorageError
from adapterctl.core.project import dvc_file as dvc_file  # the path convention lives in project.py
from adapterctl.store import remote_checks, remote_errors, storage_progress
from adapterctl.store.storage_progress import TransferCount


class _Missing(logging.Handler):
    """Collects the object ids DVC only warns about ("do not exist neither locally nor on remote")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.oids: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "do not exist neither locally" in text:
            self.oids += re.findall(r"\b([0-9a-f]{32}(?:\.dir)?)\b", text.split(":", 1)[-1])


@contextlib.contextmanager
def _quiet(missing: _Missing | None = None) -> Iterator[None]:
    """DVC logs hints meant for its own CLI ('git add ...'); our users see ours instead.
    With `missing`, DVC's warnings about absent objects are collected there, not printed."""
    logger = logging.getLogger("dvc")
    data_logger = logging.getLogger("dvc_data")
    level = logger.level
    logger.setLevel(logging.WARNING)
    saved = data_logger.handlers[:]
    if missing is not None:  # dvc_data has its own stderr handler: replace it while we listen
        data_logger.handlers = [missing]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
        data_logger.handlers = saved


def _open(root: Path) -> Any:
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
    except OSError as exc:
        raise StorageError(f"dvc add {' '.join(targets)} failed: {_os_reason(exc)}") from None


# ── version folders and the remote ────────────────────────────────────────────


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


def push(
    root: Path,
    paths: Sequence[Path] | None,
    remote: str | None,
    *,
    jobs: int | None = None,
    progress: Callable[[TransferCount], None] | None = None,
) -> TransferCount:
    """Upload the cache objects of `paths` (all tracked outputs when None); returns what moved
    (`.files` objects, `.bytes`). `progress` sees the counts while they grow."""
    from dvc.exceptions import DvcException

    targets = None if paths is None else [str(dvc_file(p)) for p in paths]
    missing = _Missing()
    try:
        with _quiet(missing), _open(root) as repo, storage_progress.counting(progress) as count:
            name, url = remote_checks.preflight(repo, remote)
            try:
                moved = int(repo.push(targets=targets, remote=remote, jobs=jobs) or 0)
            except (DvcException, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - a cloud SDK's own error (botocore, asyncssh) that DVC let through
                raise StorageError(remote_errors.explain(exc, name, url, "push")) from None
            if missing.oids:
                raise IncompleteTransfer(_missing_message(root, repo, missing.oids, remote))
            count.files = moved
            return count
    except DvcException as exc:
        raise StorageError(_remote_failure(root, remote, exc, "push")) from None
    except OSError as exc:  # an unwritable or unreachable folder remote: DVC lets these through
        raise StorageError(_remote_failure(root, remote, exc, "push")) from None


def _remote_failure(root: Path, remote: str | None, exc: Exception, action: str) -> str:
    """The one line for a failed push or pull. Local folders keep the OS's reason; for other
    remotes DVC often reports only "N files failed", so the remote is probed for the cause."""
    verb = "to" if action == "push" else "from"
    generic = f"dvc {action} {verb} remote {remote or '(default)'} failed: "
    generic += _os_reason(exc) if isinstance(exc, OSError) else str(exc)
    try:
        with _open(root) as repo:
            name = remote or repo.config["core"].get("remote") or ""
            url = str((repo.config["remote"].get(name) or {}).get("url", ""))
            if remote_errors.scheme(url) == "local":
                return generic
            if isinstance(exc, OSError):
                return remote_errors.explain(exc, name, url, action)
            return remote_checks.probe(repo, name, url) or generic
    except Exception:  # noqa: BLE001 - the project's DVC config itself is broken: DVC's message says so
        return generic


STALE_UPLOAD_S = 15 * 60  # a partial upload untouched this long belongs to a dead push


def clean_partial_uploads(root: Path, remote: str | None) -> int:
    """Delete the `.<token>.tmp` files that killed pushes left in a local folder remote (DVC
    writes each object to one and renames it into place; a kill leaves it for good). Only
    files untouched for STALE_UPLOAD_S go, so a live push elsewhere keeps its own. Other
    remote kinds manage their own partial uploads. Returns how many were removed."""
    import time

    from dvc.exceptions import DvcException

    try:
        with _quiet(), _open(root) as repo:
            handle = repo.cloud.get_remote(remote)
            if handle.fs.protocol != "local":
                return 0
            top = Path(handle.path)
    except (DvcException, OSError, ImportError):
        return 0  # push itself reports an unusable remote
    cutoff = time.time() - STALE_UPLOAD_S
    removed = 0
    for pattern in ("files/md5/*/.*.tmp", "*/.*.tmp"):  # DVC 3 layout, then DVC 2's
        for tmp in top.glob(pattern):
            with contextlib.suppress(OSError):
                if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
    return removed


def pull(
    root: Path,
    paths: Sequence[Path] | None,
    remote: str | None,
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: Callable[[TransferCount], None] | None = None,
) -> TransferCount:
    """Download and check out `paths` (all tracked outputs when None); returns what was fetched.
    `force` overwrites local edits: right for version folders, which are immutable (a modified
    copy is a corrupt one)."""
    from dvc.exceptions import DvcException

    targets = None if paths is None else [str(dvc_file(p)) for p in paths]
    try:
        with _quiet(), _open(root) as repo, storage_progress.counting(progress) as count:
            name, url = remote_checks.preflight(repo, remote)
            try:
                result = repo.pull(targets=targets, remote=remote, force=force, jobs=jobs)
            except (DvcException, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - a cloud SDK's own error that DVC let through
                raise StorageError(remote_errors.explain(exc, name, url, "pull")) from None
            stats = (result or {}).get("stats", {}) if isinstance(result, dict) else {}
            count.files = int(stats.get("fetched", count.files) or 0)
            return count
    except (DvcException, OSError) as exc:
        raise StorageError(_remote_failure(root, remote, exc, "pull")) from None


def _missing_message(root: Path, repo: Any, oids: list[str], remote: str | None) -> str:
    """Which tracked paths the missing objects belong to, as far as the .dvc files and the
    local .dir listings tell."""
    import json

    from dvc.utils.serialize import load_yaml

    wanted = {o.removesuffix(".dir") for o in oids}
    owners: dict[str, str] = {}
    for meta in root.rglob("*.dvc"):
        if ".dvc" in meta.relative_to(root).parts[:-1] or ".adapterctl" in meta.relative_to(root).parts:
            continue
        outs: list[Any] = []
        with contextlib.suppress(Exception):  # a broken .dvc file only loses the name here
            outs = load_yaml(str(meta)).get("outs") or []
        for out in outs:
            oid = str(out.get("md5", ""))
            path = (meta.parent / str(out.get("path", ""))).relative_to(root).as_posix()
            if oid.removesuffix(".dir") in wanted:
                owners[oid.removesuffix(".dir")] = path
            elif oid.endswith(".dir") and repo.cache.local.exists(oid):
                with contextlib.suppress(OSError, ValueError), open(repo.cache.local.oid_to_path(oid)) as f:
                    for entry in json.load(f):
                        if entry.get("md5") in wanted:
                            owners[entry["md5"]] = f"{path}/{entry.get('relpath', '?')}"
    named = [f"{owners[o]} ({o[:8]})" if o in owners else o for o in sorted(wanted)]
    return (
        f"{len(named)} object(s) are neither in the local cache nor on remote {remote or '(default)'}, "
        f"so they were not pushed: {', '.join(named)}; restore them (e.g. `dvc add` the file again) and push"
    )


def _os_reason(exc: OSError) -> str:
    """One line for an OSError: what failed and on which path."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


def not_pulled_hint(path: Path) -> str:
    """What to add to a "not found" message for `path`: the way to fetch it when DVC tracks it
    (a .dvc file beside it), else nothing. One wording for every file a command needs."""
    if not dvc_file(path).exists():
        return ""
    here = os.path.relpath(dvc_file(path))  # as typed in this folder: `dvc pull` resolves it from here
    return f" (it is DVC-tracked but not pulled here: run `adapterctl pull` or `dvc pull {here}`)"


def md5(path: Path) -> str | None:
    """The md5 DVC recorded for `path` in its .dvc file, or None when it is not tracked."""
    from dvc.utils.serialize import load_yaml

    meta = dvc_file(path)
    if not meta.exists():
        return None
    outs = load_yaml(str(meta)).get("outs") or [{}]
    found = outs[0].get("md5")
    return str(found) if found else None


def cached_file(root: Path, md5_hex: str) -> Path | None:
    """The local cache copy of a file object, if present (old data versions live there)."""
    with _open(root) as repo:
        path = Path(repo.cache.local.oid_to_path(md5_hex))
    return path if path.is_file() else None


def _objects(odb: Any, dir_oid: str) -> list[str] | None:
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
        conf = dict(repo.config["remote"].get(name) or {})
        url = str(conf.get("url", ""))
        try:
            dead = remote_errors.unreachable(name, url, conf)  # before the SDK retries for half a minute
            if dead:
                raise StorageError(dead)
            odb = repo.cloud.get_remote_odb(name, "status")
            objs = _objects(odb, dir_oid)
            on_remote = objs is not None and all(odb.exists(o) for o in objs)
        except StorageError:
            raise
        except DvcException as exc:
            raise StorageError(f"cannot reach DVC remote {name}: {exc}") from None
        except ImportError as exc:
            raise StorageError(remote_errors.plugin_missing(str(exc), name, url) or str(exc)) from None
        except OSError:
            on_remote = False
        except Exception as exc:  # noqa: BLE001 - a cloud SDK's own error (botocore, asyncssh)
            raise StorageError(remote_errors.explain(exc, name, url, "checking")) from None
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
