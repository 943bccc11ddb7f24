"""The project on disk: finding its root, its paths, the process lock, atomic writes."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import LockTimeout, ProjectNotFound, UsageError

MANIFEST = "adapterctl.toml"
LEGACY_ENVS_FILE = "adapterctl.lock"  # every pointer in one file, before environments/ENV/NAME.toml
STATE_DIR = ".adapterctl"
ADAPTERS_DIR = "adapters"  # version folders, cards and eval results: adapters/NAME/...
LOCK_TIMEOUT_S = float(os.environ.get("ADAPTERCTL_LOCK_TIMEOUT", "60"))


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def legacy_envs_path(self) -> Path:
        """The single-file environments of projects made before per-pointer files; read and
        migrated by environments.py (today's pointers live under environments/ENV/NAME.toml)."""
        return self.root / LEGACY_ENVS_FILE

    @property
    def adapters_dir(self) -> Path:
        return self.root / ADAPTERS_DIR

    @property
    def state_dir(self) -> Path:
        """Machine-local state (runs, checkpoints, the process lock); git-ignored."""
        return self.root / STATE_DIR

    def adapter_dir(self, name: str) -> Path:
        return self.adapters_dir / name

    def relpath(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def check_inside(self, path: Path) -> Path:
        """`path` with symlinks resolved, refusing any that leave the project: no command
        writes outside the project root. Returns the real path."""
        real = path.resolve()
        if not real.is_relative_to(self.root.resolve()):
            raise UsageError(
                f"{self.relpath(path)} leads outside the project (to {real}) through a symlink; adapterctl only "
                f"writes inside {self.root}: replace the link with a real folder"
            )
        return real

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Serialise state changes between processes. Re-entrant within one process."""
        with process_lock(self.state_dir / "lock", LOCK_TIMEOUT_S if timeout is None else timeout):
            yield

    @contextlib.contextmanager
    def try_lock(self) -> Iterator[bool]:
        """The project lock if it is free right now, without waiting or a message.

        Yields False while any process holds it, this one included: a caller that tidies up
        after interrupted writers must not run inside a live write of its own process.
        """
        from filelock import Timeout

        lock = _lock_for(self.state_dir / "lock")
        if lock.is_locked:
            yield False
            return
        try:
            lock.acquire(timeout=0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()


def dvc_file(path: Path) -> Path:
    """The .dvc file that `storage.track` writes beside `path`. A path convention, here so that
    the manifest (which must not talk to DVC) can count a tracked, not yet pulled file as present."""
    return path.with_name(path.name + ".dvc")


def leads_outside(root: Path, rel: str | Path) -> Path | None:
    """Where `rel` (relative to the project root) really leads when that is outside the project:
    through `..`, an absolute path or a symlink. None when it stays inside. `validate` and
    `data check` (and so `train`) apply this one rule to every file the manifest names."""
    real = (root / rel).resolve()
    return None if real.is_relative_to(root.resolve()) else real


def outside_message(rel: str | Path, real: Path) -> str:
    return f"{Path(rel).as_posix()} is outside the project (it leads to {real})"


def find_project(start: Path | str | None = None) -> Project:
    """The nearest folder at or above `start` holding adapterctl.toml."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return Project(folder)
    raise ProjectNotFound(f"no {MANIFEST} in {here} or any parent folder (run `adapterctl init` to create a project)")


_held_locks: dict[Path, Any] = {}


def _lock_for(path: Path):
    """One FileLock object per lock file in this process, so holding it is re-entrant."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return _held_locks.setdefault(path.resolve(), FileLock(str(path)))


@contextlib.contextmanager
def process_lock(path: Path, timeout: float) -> Iterator[None]:
    from filelock import Timeout

    lock = _lock_for(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        from adapterctl.core import ui

        ui.info(f"waiting for another adapterctl process to release {path} ...")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LockTimeout(
                f"{path}: another adapterctl process held the project lock for over {timeout:.0f}s; "
                "retry when it finishes (set ADAPTERCTL_LOCK_TIMEOUT to wait longer)"
            ) from None
    try:
        yield
    finally:
        lock.release()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it: all or nothing.

    A new file gets the mode `open()` would give it (0666 minus the umask); a rewritten file
    keeps its mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; other users (a serving account) must read versions
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # any exit, Ctrl-C included, leaves no temporary file; re-raised
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def add_to_gitignore(root: Path, lines: Iterable[str], *, replacing: Iterable[str] = ()) -> None:
    """Give ROOT/.gitignore each of `lines` it lacks, appended in order, and drop the lines in
    `replacing` (patterns they supersede). Untouched when nothing changes; written atomically."""
    path = root / ".gitignore"
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    old = set(replacing)
    kept = [line for line in current.splitlines() if line.strip() not in old]
    missing = [line for line in dict.fromkeys(lines) if line and line not in kept]
    if len(kept) < len(current.splitlines()):
        text = "".join(f"{line}\n" for line in kept)
    elif missing:
        text = current if not current or current.endswith("\n") else current + "\n"
    else:
        return
    atomic_write(path, text + "".join(f"{line}\n" for line in missing))


# atomic_write's temporary file: "." + the target's name + "." + mkstemp's 8 random characters
# (tempfile draws them from a-z, 0-9 and _) + ".tmp". Only names of exactly this shape are swept.
_ATOMIC_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def atomic_write_leftovers(folder: Path) -> list[Path]:
    """Temporary files that atomic_write left in `folder` when it was killed part-way. Only a
    caller holding the lock that every writer there holds may delete them (a live writer's
    file looks the same)."""
    return sorted(
        p for p in folder.glob(".*.tmp") if _ATOMIC_TEMP.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    )


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def new_file_mode() -> int:
    """The mode `open()` gives a new file here (0666 minus the umask): for files that other
    writers (mkstemp, safetensors) create 0600."""
    return 0o666 & ~_umask()


def _umask() -> int:
    # Reading the umask means setting it; set it straight back (there is no read-only call).
    current = os.umask(0o022)
    os.umask(current)
    return current


def process_alive(pid: int) -> bool:
    """Whether process `pid` is running (one owned by another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
