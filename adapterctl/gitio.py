"""The only module that talks to git (through gitpython, imported on first use)."""

from __future__ import annotations

from pathlib import Path

from adapterctl.errors import StorageError


def _repo(path: Path):
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def toplevel(path: Path) -> Path | None:
    repo = _repo(path)
    return Path(repo.working_tree_dir) if repo is not None else None


def init(path: Path) -> None:
    import git

    git.Repo.init(path, initial_branch="main")


def commit_all(path: Path, message: str) -> str:
    """Stage everything not ignored under `path` and commit; returns the commit sha."""
    import git

    repo = _repo(path)
    if repo is None:
        raise StorageError(f"{path}: not inside a git repository")
    try:
        repo.git.add("--all", str(path))
        repo.git.commit("-m", message, "--no-verify", "--allow-empty")
    except git.GitCommandError as exc:
        raise StorageError(f"git commit failed: {exc.stderr.strip() or exc}") from None
    return repo.head.commit.hexsha


def head_commit(path: Path) -> str | None:
    """The sha of HEAD, or None before the first commit or outside git."""
    repo = _repo(path)
    if repo is None:
        return None
    try:
        return repo.head.commit.hexsha
    except ValueError:
        return None


def describe_head(path: Path) -> str:
    """HEAD's sha, with "-dirty" appended (as `git describe --dirty` does) when tracked files
    differ from it; "" before the first commit or outside git."""
    repo = _repo(path)
    sha = head_commit(path)
    if repo is None or sha is None:
        return ""
    return f"{sha}-dirty" if repo.is_dirty(untracked_files=False) else sha
