"""The exit-code table (errors.py), one real command for each code, so CI can tell a typo
from a corrupt version, a remote outage or a busy lock."""

from __future__ import annotations

import signal
from pathlib import Path

from adapterctl.core import errors
from adapterctl.core.project import Project
from adapterctl.store import storage, weights


def test_the_table_is_the_documented_one() -> None:
    assert sorted(errors.EXIT_CODES) == [0, 1, 2, 3, 4, 5, 130, 143]
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for code in (1, 2, 3, 4, 5):
        assert f"| {code} |" in readme


def test_one_command_for_each_code(project: Path, imported, cli, run, corrupt) -> None:
    good, bad = imported(2)
    manifest = project / "adapterctl.toml"

    # 0: ok
    assert cli("resolve", good.ref, cwd=project).exit_code == 0

    # 1: a check said no (the adapter declares a gate; the version was never evaluated)
    manifest.write_text(manifest.read_text() + '\n[adapters.support.gates]\nrouge_l = ">= 0.1"\n')
    result = cli("deploy", good.ref, "--env", "prod", cwd=project)
    assert result.exit_code == errors.EXIT_CHECK_FAILED, result.stderr
    assert "--ignore-gates" in result.stderr

    # 2: bad input, with a did-you-mean
    result = cli("resolve", "suport@prod", cwd=project)
    assert result.exit_code == errors.EXIT_BAD_INPUT and "support" in result.stderr

    # 3: integrity: one flipped byte in the weights
    corrupt(bad.path / weights.WEIGHTS)
    result = cli("resolve", bad.ref, cwd=project)
    assert result.exit_code == errors.EXIT_INTEGRITY and "do not match the recorded id" in result.stderr

    # 4: storage: the remote is a path below a plain file
    blocker = project.parent / "not-a-folder"
    blocker.write_text("x\n")
    storage.add_remote(project, "storage", str(blocker / "remote"))
    result = run("push", good.ref, cwd=project)
    assert result.returncode == errors.EXIT_STORAGE, result.stderr

    # 5: busy: another process holds the project lock
    with Project(project).lock():
        result = run(
            "deploy", good.ref, "--env", "prod", "--ignore-gates", cwd=project, env={"ADAPTERCTL_LOCK_TIMEOUT": "0.2"}
        )
    assert result.returncode == errors.EXIT_BUSY, result.stderr

    # every failure above was one line, never a traceback
    assert "Traceback" not in result.stderr


def test_interrupted_and_terminated(project: Path, spawn) -> None:
    for sig, code in ((signal.SIGINT, errors.EXIT_INTERRUPTED), (signal.SIGTERM, errors.EXIT_TERMINATED)):
        with Project(project).lock():  # the command waits on the lock; interrupt it there
            proc = spawn("gc", cwd=project, env={"ADAPTERCTL_LOCK_TIMEOUT": "60"})
            while "waiting for another adapterctl process" not in (line := proc.stderr.readline()):
                assert line, f"exited {proc.wait(timeout=30)} before waiting on the lock"
            proc.send_signal(sig)
            proc.communicate(timeout=60)
        assert proc.returncode == code, (sig, proc.returncode)
