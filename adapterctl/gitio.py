"""The only module that talks to git (through gitpython, imported on first use)."""

from __future__ import annotations

from pathlib import Path

from adapterctl.errors import RefError, StorageError, UsageError


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
        raise UsageError(f"{path}: not inside a git repository (adapterctl projects are git repositories)")
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


def _at(path: Path, ref: str):
    """(repo, commit, path of `path` inside the repo) for reading files as they were at `ref`."""
    import git

    repo = _repo(path)
    if repo is None:
        raise UsageError(f"{path}: not inside a git repository (adapterctl projects are git repositories)")
    try:
        commit = repo.commit(ref)
    except (git.BadName, ValueError, git.GitCommandError):
        raise RefError(f"git: unknown revision {ref!r} (fetch it first, e.g. `git fetch origin main`)") from None
    inside = Path(path).resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    return repo, commit, "" if inside == "." else inside


def read_at(root: Path, ref: str, rel: str) -> str | None:
    """The text of `rel` (relative to `root`) at git revision `ref`, or None if absent there."""
    _, commit, inside = _at(root, ref)
    try:
        blob = commit.tree / "/".join(p for p in (inside, rel) if p)
    except KeyError:
        return None
    return blob.data_stream.read().decode("utf-8")


def list_at(root: Path, ref: str, rel_dir: str) -> list[str]:
    """Paths (relative to `root`) of the files directly in `rel_dir` at revision `ref`."""
    _, commit, inside = _at(root, ref)
    try:
        tree = commit.tree / "/".join(p for p in (inside, rel_dir) if p)
    except KeyError:
        return []
    return [f"{rel_dir}/{item.name}" for item in tree if item.type == "blob"]


def list_dirs_at(root: Path, ref: str, rel_dir: str) -> list[str]:
    """Names of the folders directly in `rel_dir` at revision `ref`."""
    _, commit, inside = _at(root, ref)
    try:
        tree = commit.tree / "/".join(p for p in (inside, rel_dir) if p)
    except KeyError:
        return []
    return [item.name for item in tree if item.type == "tree"]


def describe_head(path: Path) -> str:
    """HEAD's sha, with "-dirty" appended (as `git describe --dirty` does) when tracked files
    differ from it; "" before the first commit or outside git."""
    repo = _repo(path)
    sha = head_commit(path)
    if repo is None or sha is None:
        return ""
    return f"{sha}-dirty" if repo.is_dirty(untracked_files=False) else sha


def file_history(root: Path, rel: str) -> list[dict[str, str]]:
    """Each commit that changed `rel` (relative to `root`), oldest first, as {commit, author,
    date, text}: the file as that commit left it ("" where it was deleted). [] outside git."""
    import git

    repo = _repo(root)
    if repo is None:
        return []
    inside = Path(root).resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    full = rel if inside == "." else f"{inside}/{rel}"
    out = []
    try:
        for commit in repo.iter_commits(paths=full):
            try:
                text = (commit.tree / full).data_stream.read().decode("utf-8", errors="replace")
            except KeyError:
                text = ""
            when = commit.authored_datetime.isoformat()
            out.append({"commit": commit.hexsha[:8], "author": commit.author.name or "", "date": when, "text": text})
    except (git.GitCommandError, ValueError):  # no commits yet
        return []
    return out[::-1]


def user_name(root: Path) -> str:
    """git's user.name for this repository ("" when unset)."""
    repo = _repo(root)
    if repo is None:
        return ""
    with repo.config_reader() as config:
        return str(config.get_value("user", "name", "")) if config.has_section("user") else ""
