"""Registration is atomic, and state changes are serialised by the project lock.

A registration runs in a separate process with ADAPTERCTL_TEST_HOOK, which makes it hang
(or exit on the spot) at a named point; the test then kills it as a user or an OOM killer
would, and checks that no half version and no orphan file is left.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from adapterctl import versions
from adapterctl.core import faults
from adapterctl.core.project import Project


def _wait_for(proc: subprocess.Popen, text: str) -> str:
    """Read the child's stderr until `text` shows up (or it exits)."""
    seen = []
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.wait(timeout=30)
            raise AssertionError(f"exited {proc.returncode} before printing {text!r}:\n{''.join(seen)}")
        seen.append(line)
        if text in line:
            return "".join(seen)


def _assert_nothing_orphaned(project: Path, known: list[versions.Version], git) -> None:
    expected = sorted(n for v in known for n in (v.id, f"{v.id}.dvc", f"{v.id}.toml"))
    assert sorted(p.name for p in (project / "adapters" / "support").iterdir()) == expected
    state = project / ".adapterctl"
    assert not list((state / "pending").glob("*")) and not list((state / "staging").glob("*"))
    assert git(project, "status", "--porcelain") == ""


@pytest.fixture
def one_version(project: Path, adapters: list[Path], git) -> versions.Version:
    v = versions.import_folder(Project(project), "support", adapters[0], message="kept")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "first version")
    return v


@pytest.mark.parametrize("point", ["staged", "tracked", "pushed"])
def test_registration_killed_midway_leaves_log_unchanged_and_nothing_orphaned(
    point: str, project: Path, adapters: list[Path], one_version: versions.Version, spawn, cli, git
) -> None:
    proc = spawn("import", "support", str(adapters[1]), cwd=project, env={faults.ENV_VAR: f"{point}:sleep"})
    _wait_for(proc, f"test hook: paused at {point}")
    during = cli("log", "support", "--json", cwd=project)  # a reader while the writer holds the lock
    assert [e["id"] for e in json.loads(during.stdout)] == [one_version.id]
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=30)

    assert [v.id for v in versions.log(Project(project), "support")] == [one_version.id]
    result = cli("log", "support", "--json", cwd=project)  # a reader reads past the leftovers
    assert result.exit_code == 0 and [e["id"] for e in json.loads(result.stdout)] == [one_version.id]
    assert cli("gc", cwd=project).exit_code == 0  # the next state change sweeps them, under the lock
    _assert_nothing_orphaned(project, [one_version], git)

    again = versions.import_folder(Project(project), "support", adapters[1])  # and it can be registered after all
    assert [v.id for v in versions.log(Project(project), "support")] == [again.id, one_version.id]


def test_registration_that_exits_abruptly_is_swept_by_the_next_writer(
    project: Path, adapters: list[Path], one_version: versions.Version, run, git
) -> None:
    result = run("import", "support", str(adapters[1]), cwd=project, env={faults.ENV_VAR: "tracked:exit"})
    assert result.returncode == 86
    assert len(list((project / "adapters" / "support").glob("*.dvc"))) == 2  # the half version, not visible
    assert [v.id for v in versions.log(Project(project), "support")] == [one_version.id]
    deployed = run("deploy", one_version.ref, "--env", "prod", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    git(project, "add", "environments")
    git(project, "commit", "-qm", "deploy")
    _assert_nothing_orphaned(project, [one_version], git)


def test_terminated_registration_cleans_up_after_itself(
    project: Path, adapters: list[Path], one_version: versions.Version, spawn, git
) -> None:
    proc = spawn("import", "support", str(adapters[1]), cwd=project, env={faults.ENV_VAR: "pushed:sleep"})
    _wait_for(proc, "test hook: paused at pushed")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "nothing was registered" in err  # SIGTERM: 128 + 15
    _assert_nothing_orphaned(project, [one_version], git)  # before any other command ran


def test_second_writer_waits_with_a_message_then_proceeds(project: Path, one_version: versions.Version, spawn) -> None:
    with Project(project).lock():
        proc = spawn("deploy", one_version.ref, "--env", "prod", cwd=project, env={"ADAPTERCTL_LOCK_TIMEOUT": "60"})
        _wait_for(proc, "waiting for another adapterctl process")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert versions.resolve(Project(project), "support@prod").id == one_version.id


def test_second_writer_fails_clearly_after_the_timeout(project: Path, one_version: versions.Version, run) -> None:
    with Project(project).lock():
        result = run("deploy", one_version.ref, "--env", "prod", cwd=project, env={"ADAPTERCTL_LOCK_TIMEOUT": "1"})
    assert result.returncode == 5  # lock busy
    assert "held the project lock for over 1s" in result.stderr and "ADAPTERCTL_LOCK_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr
