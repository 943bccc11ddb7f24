"""project.add_to_gitignore: the one way `init` and `register` edit .gitignore."""

from __future__ import annotations

import os
from pathlib import Path

from adapterctl.core.project import add_to_gitignore


def test_missing_lines_are_appended_once_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("mine\n# a comment\nshared")  # no final newline
    add_to_gitignore(tmp_path, ["shared", "new", "", "new"])
    assert path.read_text() == "mine\n# a comment\nshared\nnew\n"


def test_nothing_to_add_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("a\nb\n")
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    add_to_gitignore(tmp_path, ["b"])
    assert path.stat().st_mtime_ns == before - 10**9


def test_a_superseded_pattern_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("x\n/adapters/*/*/\ny\n")
    add_to_gitignore(tmp_path, ["/adapters/*/*?/"], replacing=["/adapters/*/*/"])
    assert path.read_text() == "x\ny\n/adapters/*/*?/\n"


def test_a_new_file_is_created(tmp_path: Path) -> None:
    add_to_gitignore(tmp_path, ["/.adapterctl/"])
    assert (tmp_path / ".gitignore").read_text() == "/.adapterctl/\n"
