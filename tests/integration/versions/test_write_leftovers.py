"""Finding F3: a card or pointer write killed part-way leaves atomic_write's temporary file
(`.NAME.XXXXXXXX.tmp`) in adapters/NAME/ or environments/ENV/, where `git add -A` (or the
README's `git add adapters/NAME`) would commit it. The next state-changing command sweeps them
when it takes the project lock (`gc`, even a dry run, is the one to run for that); nothing else
is touched, and nothing while a writer holds it. Read-only commands delete nothing (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from adapterctl.core import faults


def _killed_write(folder: Path, target: str, partial: str) -> Path:
    """The temporary file atomic_write had made when it was killed: same call, same name."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(partial)
    return Path(tmp)


def _wait_for(proc: subprocess.Popen, text: str) -> None:
    seen = []
    while line := proc.stderr.readline():
        seen.append(line)
        if text in line:
            return
    proc.wait(timeout=30)
    raise AssertionError(f"exited {proc.returncode} before printing {text!r}:\n{''.join(seen)}")


def test_temporary_files_of_killed_card_and_pointer_writes_are_swept_by_the_next_state_change(
    project: Path, imported, run
) -> None:
    (first,) = imported(1)
    assert run("deploy", first.ref, "--env", "prod", cwd=project).returncode == 0
    card = _killed_write(project / "adapters" / "support", f"{first.id}.toml", 'id = "half a')
    pointer = _killed_write(project / "environments" / "prod", "support.toml", 'version = "half a')
    # Not atomic_write's shape: a user's own files, left alone.
    mine = [project / "adapters" / "support" / ".notes.tmp", project / "environments" / "prod" / ".x.y.tmp"]
    for path in mine:
        path.write_text("mine")

    result = run("log", "support", "--json", cwd=project)  # a read-only command: reads past them
    assert result.returncode == 0, result.stderr
    assert [e["id"] for e in json.loads(result.stdout)] == [first.id]
    assert card.exists() and pointer.exists()
    assert run("gc", cwd=project).returncode == 0  # a state change (a dry run): sweeps under the lock
    assert not card.exists() and not pointer.exists()
    assert all(path.read_text() == "mine" for path in mine)
    assert run("resolve", "support@prod", "--json", cwd=project).returncode == 0


def test_a_temporary_file_is_left_alone_while_a_writer_holds_the_lock(
    project: Path, imported, adapters: list[Path], run, spawn
) -> None:
    (first,) = imported(1)
    card = _killed_write(project / "adapters" / "support", f"{first.id}.toml", 'id = "half a')
    writer = spawn("import", "support", str(adapters[1]), cwd=project, env={faults.ENV_VAR: "staged:sleep"})
    try:
        _wait_for(writer, "test hook: paused at staged")  # it holds the project lock (and swept on taking it)
        live = _killed_write(project / "adapters" / "support", f"{first.id}.toml", "a live writer's")
        assert run("log", "support", cwd=project).returncode == 0
        assert live.exists(), "a reader deleted the temporary file of a writer that holds the lock"
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert not card.exists(), "the writer did not sweep a dead writer's file when it took the lock"
    assert run("gc", cwd=project).returncode == 0  # the writer is dead: the next state change sweeps it
    assert not live.exists()


def test_a_folder_linked_outside_the_project_is_not_swept(project: Path, imported, run, tmp_path: Path) -> None:
    imported(1)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    theirs = _killed_write(outside, "x.toml", "not ours")
    (project / "adapters" / "linked").symlink_to(outside, target_is_directory=True)
    run("gc", cwd=project)
    assert theirs.exists()


def test_read_commands_delete_nothing_while_leftovers_exist(project: Path, imported, adapters: list[Path], run) -> None:
    """status, log, resolve, show and envs take no lock and never run recovery: every leftover
    of killed writes (temp files, a pending marker, a staged copy) is still there after them."""
    (first,) = imported(1)
    assert run("deploy", first.ref, "--env", "prod", cwd=project).returncode == 0
    state = project / ".adapterctl"
    (state / "pending").mkdir(parents=True, exist_ok=True)
    (state / "staging" / "x").mkdir(parents=True, exist_ok=True)
    leftovers = [
        _killed_write(project / "adapters" / "support", f"{first.id}.toml", 'id = "half a'),
        _killed_write(project / "environments" / "prod", "support.toml", 'version = "half a'),
        state / "pending" / f"support-{'0' * 64}.json",
        state / "staging" / "x" / "adapter_config.json",
    ]
    leftovers[2].write_text(json.dumps({"name": "support", "id": "0" * 64}))
    leftovers[3].write_text("{}")
    before = sorted(str(p.relative_to(project)) for p in project.rglob("*") if ".git" not in p.parts)
    for args in (
        ["status", "--json"],
        ["log", "support", "--json"],
        ["resolve", "support@prod", "--json"],
        ["show", "support@prod", "--json"],
        ["envs", "--json"],
    ):
        result = run(*args, cwd=project)
        assert result.returncode == 0, f"{args}: {result.stderr}"
    after = sorted(str(p.relative_to(project)) for p in project.rglob("*") if ".git" not in p.parts)
    assert after == before
    assert all(p.exists() for p in leftovers)
    assert run("gc", cwd=project).returncode == 0
    assert not any(p.exists() for p in leftovers)
