"""Where `data fix NAME OUT` may write, and writing there all at once.

OUT must be a new or empty folder inside the project that holds no input and lies under no
input, outside the folders adapterctl owns (adapters/, environments/, .dvc/, .git/,
.adapterctl/), reached through no symlink. The cleaned files are written into a staging
folder beside OUT and renamed onto it in one step: a killed fix leaves OUT as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project, new_file_mode

OWNED = ("adapters", "environments", ".dvc", ".git", ".adapterctl")
_STAGING = ".fix-"


def checked(project: Project, out: Path, inputs: list[Path]) -> Path:
    """The real path of OUT (given as typed, not resolved), or a UsageError saying why not."""
    root = project.root.resolve()
    lexical = Path(os.path.abspath(out))
    shown = f"data fix: {project.relpath(lexical) if lexical.is_relative_to(root) else out}"
    _refuse_links(root, lexical, shown)
    real = lexical.resolve()
    if not real.is_relative_to(root):
        raise UsageError(f"{shown}: the folder is outside the project; name a new folder inside {root}")
    if real == root:
        raise UsageError(f"{shown}: the project root holds the inputs; name a new folder (the input is never changed)")
    top = real.relative_to(root).parts[0]
    if top in OWNED:
        raise UsageError(f"{shown}: {top}/ belongs to adapterctl, git or DVC; name a new folder elsewhere")
    for source in inputs:
        source = source.resolve()
        if source.is_relative_to(real) or real.is_relative_to(source):
            how = "holds the input" if source.is_relative_to(real) else "would overwrite"
            raise UsageError(
                f"{shown}: {how} {project.relpath(source)}; name a new folder (the input is never changed)"
            )
    if real.exists() and not real.is_dir():
        raise UsageError(f"{shown}: a file is there; name a new or empty folder")
    if real.is_dir() and any(real.iterdir()):
        raise UsageError(f"{shown}: the folder is not empty; name a new or empty folder (the input is never changed)")
    return real


def _refuse_links(root: Path, lexical: Path, shown: str) -> None:
    """No component of OUT inside the project may be a symlink: nothing is written through one."""
    if not lexical.is_relative_to(root):
        if lexical.resolve().is_relative_to(root):  # a link outside the project that leads in
            raise UsageError(f"{shown}: the path leads into the project through a symlink; name the folder itself")
        return
    here = root
    for part in lexical.relative_to(root).parts:
        here = here / part
        if here.is_symlink():
            raise UsageError(
                f"{shown}: {here.relative_to(root).as_posix()} is a symlink; adapterctl writes nothing through "
                "a symlink: name a real folder"
            )


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh folder beside OUT to write into; on success it replaces OUT (new or empty) in one rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep(out)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}{_STAGING}"))
    try:
        os.chmod(staging, new_file_mode() | 0o111)  # mkdtemp makes 0700; the copy is an ordinary folder
        yield staging
        if out.is_dir():
            out.rmdir()  # empty (checked); os.replace would also replace it, but only on POSIX
        os.replace(staging, out)
    except BaseException:  # any exit, Ctrl-C included, removes the staging folder; re-raised
        shutil.rmtree(staging, ignore_errors=True)
        raise


def sweep(out: Path) -> None:
    """Staging folders that killed fixes left beside OUT (the caller holds the project lock, so
    none of them is being written); .gitignore keeps them out of commits until then."""
    for leftover in out.parent.glob(f".*{_STAGING}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
