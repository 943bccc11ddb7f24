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
