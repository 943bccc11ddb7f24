"""atomic_write: new files follow the umask (not mkstemp's 0600); rewritten files keep their mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapterctl.core.project import atomic_write


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    target = tmp_path / "sub" / "adapterctl.lock"
    atomic_write(target, "x = 1\n")
    assert mode(target) == expected
    assert target.read_text() == "x = 1\n"


def test_rewritten_files_keep_their_mode(tmp_path: Path, umask) -> None:
    umask(0o022)
    target = tmp_path / "adapterctl.toml"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic_write(target, b"new\n")
    assert mode(target) == 0o640
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["adapterctl.toml"], "no temporary file left behind"
