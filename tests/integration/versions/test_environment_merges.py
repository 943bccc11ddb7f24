"""Environment pointers under real git merges: one file per (environment, adapter), so moves of
different pointers merge cleanly and moves of the same pointer conflict loudly; and projects
that still have the old single adapterctl.lock are read and migrated on the next write."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.store import environments

CONFLICT = "unresolved git merge conflict"


def _commit(git, project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def test_two_branches_deploying_different_adapters_to_a_new_environment_merge_cleanly(
    project: Path, adapters: list[Path], cli, git
) -> None:
    p = Project(project)
    support = versions.import_folder(p, "support", adapters[0])
    docs = versions.import_folder(p, "docs", adapters[1])
    assert cli("deploy", support.ref, "--env", "prod", cwd=project).exit_code == 0
    _commit(git, project, "main: support in prod")

    git(project, "checkout", "-qb", "feature-a")
    assert cli("deploy", support.ref, "--env", "canary", "-m", "a", cwd=project).exit_code == 0
    _commit(git, project, "a: support to the new canary environment")

    git(project, "checkout", "-q", "main")
    git(project, "checkout", "-qb", "feature-b")
    assert cli("deploy", docs.ref, "--env", "canary", "-m", "b", cwd=project).exit_code == 0
    _commit(git, project, "b: docs to the new canary environment")

    git(project, "checkout", "-q", "main")
    git(project, "merge", "-q", "--no-edit", "feature-a")
    git(project, "merge", "-q", "--no-edit", "feature-b")  # raises on a conflict
    assert git(project, "status", "--porcelain") == ""

    rows = json.loads(cli("envs", "--env", "canary", "--json", cwd=project).stdout)
    assert {(r["name"], r["version"]) for r in rows} == {("support", support.id), ("docs", docs.id)}
    assert versions.resolve(p, "docs@canary").id == docs.id
    assert versions.resolve(p, "support@canary").id == support.id
    assert versions.resolve(p, "support@prod").id == support.id
    assert sorted(q.relative_to(project).as_posix() for q in environments.paths(p)) == [
        "environments/canary/docs.toml",
        "environments/canary/support.toml",
        "environments/prod/support.toml",
    ]


def test_moving_the_same_pointer_on_two_branches_conflicts_and_every_command_says_so(
    project: Path, imported, cli, git
) -> None:
    first, second, third = imported(3)
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    _commit(git, project, "main: first in prod")

    git(project, "checkout", "-qb", "feature-a")
    assert cli("deploy", second.ref, "--env", "prod", cwd=project).exit_code == 0
    _commit(git, project, "a: second in prod")
    git(project, "checkout", "-q", "main")
    assert cli("deploy", third.ref, "--env", "prod", cwd=project).exit_code == 0
    assert cli("deploy", first.ref, "--env", "staging", cwd=project).exit_code == 0  # another pointer: no conflict
    _commit(git, project, "main: third in prod")

    with pytest.raises(subprocess.CalledProcessError):
        git(project, "merge", "-q", "--no-edit", "feature-a")
    conflicted = git(project, "diff", "--name-only", "--diff-filter=U").split()
    assert conflicted == ["environments/prod/support.toml"]

    for args in (
        ("envs",),
        ("deploy", first.ref, "--env", "prod"),
        ("log", "support"),
        ("resolve", "support@prod"),
        ("rollback", "support", "--env", "prod"),
    ):
        result = cli(*args, cwd=project)
        assert result.exit_code == 5, (args, result.stdout, result.stderr)  # EXIT_BUSY: a conflict
        assert "environments/prod/support.toml" in result.stderr and CONFLICT in result.stderr, args
        assert "Traceback" not in result.stderr

    # Resolving the conflict (here: taking this branch's side) makes every command work again.
    git(project, "checkout", "--ours", "environments/prod/support.toml")
    _commit(git, project, "merge a, keeping third in prod")
    assert versions.resolve(Project(project), "support@prod").id == third.id
    assert cli("rollback", "support", "--env", "prod", cwd=project).exit_code == 0
    assert versions.resolve(Project(project), "support@prod").id == first.id


LEGACY = """\
# adapterctl environments: the version each environment serves, and every move.

[environments.prod.support]
version = "{second}"

[[environments.prod.support.moves]]
at = "2026-11-01T10:00:00.000000Z"
action = "deploy"
from = ""
to = "{first}"
forced = false
message = "go live"

[[environments.prod.support.moves]]
at = "2026-11-02T10:00:00.000000Z"
action = "deploy"
from = "{first}"
to = "{second}"
forced = false
message = ""

[environments.staging.support]
version = "{first}"

[[environments.staging.support.moves]]
at = "2026-11-01T11:00:00.000000Z"
action = "deploy"
from = ""
to = "{first}"
forced = true
message = "staging"
"""


def test_an_old_adapterctl_lock_is_read_and_migrated_on_the_next_deploy(project: Path, imported, cli, git) -> None:
    first, second, third = imported(3)
    (project / "adapterctl.lock").write_text(LEGACY.format(first=first.id, second=second.id))
    _commit(git, project, "an old project")

    # Read as it is: no command that only reads rewrites it.
    rows = json.loads(cli("envs", "--history", "--json", cwd=project).stdout)
    assert {(r["env"], r["name"], r["version"], len(r["moves"])) for r in rows} == {
        ("prod", "support", second.id, 2),
        ("staging", "support", first.id, 1),
    }
    assert cli("resolve", "support@prod", cwd=project).stdout.strip() == str(second.path)
    log = json.loads(cli("log", "support", "--json", cwd=project).stdout)
    assert {e["id"]: e["environments"] for e in log}[first.id] == ["staging"]
    assert git(project, "status", "--porcelain") == ""

    # The next move migrates every pointer, with its whole history, and retires the old file.
    assert cli("deploy", third.ref, "--env", "prod", "-m", "after migration", cwd=project).exit_code == 0
    assert not (project / "adapterctl.lock").exists()
    p = Project(project)
    envs = environments.load(p)
    assert [m.message for m in envs["prod"]["support"].moves] == ["go live", "", "after migration"]
    assert envs["prod"]["support"].version == third.id
    assert envs["staging"]["support"].version == first.id and envs["staging"]["support"].moves[0].forced is True
    assert environments.previous(envs["prod"]["support"]) == second.id
    assert cli("rollback", "support", "--env", "prod", cwd=project).exit_code == 0
    assert versions.resolve(p, "support@prod").id == second.id


def test_a_migration_interrupted_after_some_files_reads_back_unchanged(project: Path, imported) -> None:
    """save() writes the new files before deleting adapterctl.lock: a kill between the two
    leaves both, and the per-pointer files (same content) win."""
    first, second = imported(2)
    p = Project(project)
    (project / "adapterctl.lock").write_text(LEGACY.format(first=first.id, second=second.id))
    before = environments.load(p)
    only_prod = {"prod": before["prod"]}
    environments.save(p, only_prod)  # as if killed after writing prod's file: put the lock back
    (project / "adapterctl.lock").write_text(LEGACY.format(first=first.id, second=second.id))
    assert environments.load(p) == before


def test_fingerprint_follows_every_move(project: Path, imported, cli) -> None:
    first, second = imported(2)
    p = Project(project)
    empty = environments.fingerprint(p)
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    after_one = environments.fingerprint(p)
    assert after_one != empty and environments.fingerprint(p) == after_one  # stable while nothing moves
    assert cli("deploy", second.ref, "--env", "prod", cwd=project).exit_code == 0
    assert environments.fingerprint(p) != after_one
    assert environments.paths(p) == [project / "environments" / "prod" / "support.toml"]


def test_a_killed_writers_temporary_file_is_ignored_and_swept_by_the_next_move(
    project: Path, imported, cli, git
) -> None:
    first, second = imported(2)
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    debris = project / "environments" / "prod" / ".support.toml.k1ll3d.tmp"  # as atomic_write names it
    debris.write_text('version = "half a')
    assert environments.paths(Project(project)) == [project / "environments" / "prod" / "support.toml"]
    assert "k1ll3d" not in git(project, "status", "--porcelain", "--untracked-files=all")  # init's .gitignore
    assert cli("deploy", second.ref, "--env", "prod", cwd=project).exit_code == 0
    assert not debris.exists()
