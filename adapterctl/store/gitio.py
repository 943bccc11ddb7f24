"""The only module that talks to git (through gitpython, imported on first use)."""

from __future__ import annotations

from pathlib import Path

from adapterctl.core.errors import IntegrityError, RefError, StorageError, UsageError


def _repo(path: Path):
    import git

    key = str(Path(path).resolve())
    if key in _REPOS and Path(_REPOS[key].git_dir).is_dir():
        return _REPOS[key]
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if len(_REPOS) >= 8:  # a handful of projects per process at most; drop the oldest
        _REPOS.pop(next(iter(_REPOS))).close()
    _REPOS[key] = repo
    return repo


# One Repo per folder per process: each new Repo starts its own `git cat-file` helpers, and
# `report` reads dozens of files at one commit.
_REPOS: dict = {}


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
        if (
            repo.git_dir,
            ref,
        ) in _COMMITS:  # resolved before (report reads many files at one commit): a sha is immutable
            return repo, repo.commit(ref), _inside(repo, path)
        # git itself resolves the revision (gitpython's own parser raises IndexError, KeyError
        # on some valid and invalid specs); --end-of-options keeps "-x" from being an option.
        sha = repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        commit = repo.commit(sha)
        _COMMITS.add((repo.git_dir, sha))
    except (git.BadName, ValueError, git.GitCommandError):
        raise RefError(f"git: unknown revision {ref!r} (fetch it first, e.g. `git fetch origin main`)") from None
    return repo, commit, _inside(repo, path)


_COMMITS: set[tuple[str, str]] = set()  # (git dir, full sha) git resolved to a commit in this process


def _inside(repo, path: Path) -> str:
    inside = Path(path).resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    return "" if inside == "." else inside


def commit_at(root: Path, ref: str) -> str:
    """The commit sha revision `ref` names (a RefError when it names none)."""
    return _at(root, ref)[1].hexsha


def read_at(root: Path, ref: str, rel: str, *, shown: str | None = None) -> str | None:
    """The text of `rel` (relative to `root`) at git revision `ref`, or None if absent there.
    A file that is not UTF-8 text is an IntegrityError naming the commit and the path
    (`shown`: how to name the revision, when `ref` is its resolved sha)."""
    _, commit, inside = _at(root, ref)
    ref = shown or ref
    try:
        blob = commit.tree / "/".join(p for p in (inside, rel) if p)
    except KeyError:
        return None
    if blob.type != "blob":
        raise IntegrityError(f"{rel} at {ref} (commit {commit.hexsha[:12]}): a folder where a file should be")
    data = blob.data_stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(
            f"{rel} at {ref} (commit {commit.hexsha[:12]}): not UTF-8 text (byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None


def list_at(root: Path, ref: str, rel_dir: str) -> list[str]:
    """Paths (relative to `root`) of the files directly in `rel_dir` at revision `ref`."""
    return [f"{rel_dir}/{name}" for name in _names_at(root, ref, rel_dir, "blob")]


def list_dirs_at(root: Path, ref: str, rel_dir: str) -> list[str]:
    """Names of the folders directly in `rel_dir` at revision `ref`."""
    return _names_at(root, ref, rel_dir, "tree")


def _names_at(root: Path, ref: str, rel_dir: str, kind: str) -> list[str]:
    """Names of the entries of git type `kind` ("blob", "tree") in `rel_dir` at `ref`; none when it is not there."""
    _, commit, inside = _at(root, ref)
    try:
        tree = commit.tree / "/".join(p for p in (inside, rel_dir) if p)
    except KeyError:
        return []
    return [item.name for item in tree if item.type == kind]


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
