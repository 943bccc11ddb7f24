"""Issue 8 regressions on the version store, real git and real DVC with a local folder remote:
one-line errors instead of tracebacks (item 1), corruption caught (2), gc checks before it
deletes and the card says when the tree was dirty (4), exit codes and messages (5), and no
write outside the project (6)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import tomli_w

from adapterctl import manifest, versions
from adapterctl.core.project import Project
from adapterctl.core.tomlread import tomllib
from adapterctl.store import storage, weights


def _one_line(result) -> str:
    """The error of a failed command: exactly one line, no traceback."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _remote(project: Path) -> Path:
    return project.parent / "remote"


def _object(root: Path, oid: str) -> Path:
    return root / "files" / "md5" / oid[:2] / oid[2:]


def _weights_oid(project: Path, v: versions.Version) -> str:
    dir_oid = storage.md5(v.path)
    listing = json.loads(_object(project / ".dvc" / "cache", dir_oid).read_text())
    return next(e["md5"] for e in listing if e["relpath"] == weights.WEIGHTS)


# ── item 1: tracebacks become one line, exit 2 ──


def test_push_to_an_unreachable_remote_is_one_line_exit_4(project: Path, imported, run) -> None:
    (v,) = imported(1)
    blocker = project.parent / "a-file"
    blocker.write_text("a file where the remote folder should be\n")
    storage.add_remote(project, "storage", str(blocker / "remote"))
    for args in (["push"], ["push", v.ref]):
        result = run(*args, cwd=project)
        assert result.returncode == 4, result.stderr
        assert "dvc push to remote storage failed" in _one_line(result)


def test_gc_force_with_a_symlinked_version_folder_deletes_nothing(project: Path, imported, cli) -> None:
    a, b, _ = imported(3)
    real = project / "moved-away"
    shutil.move(str(a.path), real)
    a.path.symlink_to(real, target_is_directory=True)  # inside the project, but not a version folder
    cache_before = sorted(p for p in (project / ".dvc" / "cache").rglob("*") if p.is_file())

    result = cli("gc", "--keep-last", "1", "--yes", cwd=project)
    assert result.exit_code == 2 and "is a symlink" in result.stderr and "deleted nothing" in result.stderr
    assert sorted(p for p in (project / ".dvc" / "cache").rglob("*") if p.is_file()) == cache_before
    assert b.path.is_dir() and weights.content_id(b.path) == b.id, "checked everything before deleting anything"


# ── item 2: every file in a version folder is covered by the card ──


def test_card_records_a_hash_of_every_file(imported) -> None:
    (v,) = imported(1)
    assert v.card.files is not None and v.card.files.root == weights.file_hashes(v.path)
    assert set(v.card.files.names()) == {weights.CONFIG, weights.WEIGHTS}


def test_appended_bytes_are_caught_by_resolve_deploy_and_import(
    project: Path, imported, cli, adapters: list[Path], tmp_path: Path
) -> None:
    (v,) = imported(1)
    target = v.path / weights.WEIGHTS
    target.chmod(0o644)
    with target.open("ab") as f:
        f.write(b"\0" * 16)
    for args in (("resolve", v.ref), ("deploy", v.ref, "--env", "prod")):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3, result.stderr
        assert "not covered by the header" in result.stderr and f"adapterctl pull {v.ref}" in result.stderr

    bad = tmp_path / "bad-adapter"
    shutil.copytree(adapters[1], bad)
    with (bad / weights.WEIGHTS).open("ab") as f:
        f.write(b"junk")
    result = cli("import", "support", str(bad), cwd=project)
    assert result.exit_code == 3 and "not a valid safetensors file" in result.stderr
    assert len(versions.log(Project(project), "support")) == 1, "nothing was imported"


def test_a_changed_extra_file_or_a_dropped_in_file_is_caught(project: Path, adapters: list[Path], cli) -> None:
    p = Project(project)
    curve = project.parent / "loss_curve.png"
    curve.write_bytes(b"\x89PNG not really a png, but bytes to cover")
    spec = manifest.load(p.manifest_path).adapter("support")
    v = versions.register(p, "support", adapters[0], spec=spec, extra_files=[curve])
    assert cli("resolve", v.ref, cwd=project).exit_code == 0

    png = v.path / "loss_curve.png"
    png.chmod(0o644)
    png.write_bytes(b"another picture")
    result = cli("resolve", v.ref, cwd=project)
    assert result.exit_code == 3 and "loss_curve.png does not match the sha256 in its card" in result.stderr

    assert cli("pull", v.ref, cwd=project).exit_code == 0, "pull restores the recorded file"
    (v.path / "notes.txt").write_text("dropped in\n")
    result = cli("deploy", v.ref, "--env", "prod", cwd=project)
    assert result.exit_code == 3 and "notes.txt is not part of the version" in result.stderr


def test_cards_without_the_files_table_still_verify_by_id(project: Path, imported, cli) -> None:
    (v,) = imported(1)
    data = tomllib.loads(v.card_path.read_text())
    del data["files"]
    v.card_path.write_text(tomli_w.dumps(data))
    assert cli("resolve", v.ref, cwd=project).exit_code == 0
    (v.path / "extra.txt").write_text("not checked on old cards\n")
    assert cli("resolve", v.ref, cwd=project).exit_code == 0


def test_a_corrupt_remote_copy_is_named_as_such(project: Path, imported, cli) -> None:
    (v,) = imported(1)  # pushed to the remote on registration
    remote_weights = _object(_remote(project), _weights_oid(project, v))
    remote_weights.chmod(0o644)
    remote_weights.write_bytes(remote_weights.read_bytes() + b"\0\0\0\0")
    shutil.rmtree(v.path)
    shutil.rmtree(project / ".dvc" / "cache")

    for args in (("pull", v.ref), ("resolve", v.ref, "--pull")):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3, result.stderr
        assert "the copy on remote storage is corrupt" in result.stderr, result.stderr
        assert "restore them with `adapterctl pull" not in result.stderr


def test_a_corrupt_local_cache_object_is_replaced_from_the_remote(project: Path, imported, cli) -> None:
    (v,) = imported(1)
    cached = _object(project / ".dvc" / "cache", _weights_oid(project, v))
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes() + b"\0")
    shutil.rmtree(v.path)
    result = cli("pull", v.ref, cwd=project)
    assert result.exit_code == 0, result.stderr
    assert (
        weights.content_id(v.path) == v.id
        and versions.weights_problem(versions.resolve(Project(project), v.ref, verify=False)) is None
    )


# ── item 4: the card says when the tree was dirty ──


def test_git_commit_in_the_card_is_marked_dirty(project: Path, adapters: list[Path], git) -> None:
    p = Project(project)
    head = git(project, "rev-parse", "HEAD").strip()
    clean = versions.import_folder(p, "support", adapters[0])
    assert clean.card.git_commit == head
    git(project, "add", "-A")
    git(project, "commit", "-qm", "v1")
    head = git(project, "rev-parse", "HEAD").strip()
    (project / "templates" / "support.txt").write_text("edited, not committed {instruction}\n{input}\n")
    dirty = versions.import_folder(p, "support", adapters[1])
    assert dirty.card.git_commit == f"{head}-dirty"


# ── item 5: exit codes and messages ──


def test_push_with_missing_objects_exits_4_and_names_them(project: Path, imported, run) -> None:
    imported(1)
    data_md5 = storage.md5(project / "evals" / "docs.jsonl")
    _object(project / ".dvc" / "cache", data_md5).unlink()  # in neither the cache nor the remote
    result = run("push", cwd=project)
    assert result.returncode == 4, result.stderr
    line = _one_line(result)
    assert "evals/docs.jsonl" in line and data_md5[:8] in line and "not pushed" in line


def test_log_rejects_a_negative_limit(project: Path, imported, cli) -> None:
    imported(1)
    result = cli("log", "support", "-n", "-1", cwd=project)
    assert result.exit_code == 2 and "--limit -1" in result.stderr


def test_envs_and_rollback_name_an_unknown_adapter(project: Path, imported, cli) -> None:
    (v,) = imported(1)
    assert cli("deploy", v.ref, "--env", "prod", cwd=project).exit_code == 0
    envs = cli("envs", "nosuch", cwd=project)
    assert envs.exit_code == 2 and "no adapter named 'nosuch'" in envs.stderr
    wrong_env = cli("envs", "--env", "prdo", cwd=project)
    assert wrong_env.exit_code == 2 and "did you mean 'prod'" in wrong_env.stderr
    rollback = cli("rollback", "nosuch", "--env", "prod", cwd=project)
    assert rollback.exit_code == 2 and "no adapter named 'nosuch'" in rollback.stderr
    assert "never served" not in rollback.stderr


def test_push_removes_partial_uploads_that_killed_pushes_left(project: Path, imported, cli) -> None:
    imported(1)
    folder = _remote(project) / "files" / "md5" / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / ".Zm9vYmFyYmF6cXV4.tmp", folder / ".bGl2ZXB1c2hub3c.tmp"
    for tmp in (stale, fresh):
        tmp.write_bytes(b"half an object")
    old = time.time() - storage.STALE_UPLOAD_S - 60
    os.utime(stale, (old, old))
    assert cli("push", cwd=project).exit_code == 0
    assert not stale.exists(), "a dead push's partial file is gone"
    assert fresh.exists(), "a recent one may belong to a push still running elsewhere"


# ── item 6: nothing is written outside the project ──


@pytest.mark.parametrize("command", [("pull",), ("resolve", "--pull")])
def test_adapter_folder_symlinked_outside_is_refused(
    project: Path, imported, cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (v,) = imported(1)
    outside = tmp_path / "outside"
    shutil.move(str(project / "adapters" / "support"), outside)
    (project / "adapters" / "support").symlink_to(outside, target_is_directory=True)
    shutil.rmtree(outside / v.id)  # the weights must be fetched: the write would land outside
    args = [command[0], v.ref, *command[1:]]
    result = cli(*args, cwd=project)
    assert result.exit_code == 2 and "outside the project" in result.stderr, result.stderr
    assert not (outside / v.id).exists(), "nothing was written through the link"


def test_import_through_a_symlink_leaving_the_project_is_refused(
    project: Path, adapters: list[Path], cli, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / "adapters").mkdir(exist_ok=True)
    (project / "adapters" / "support").symlink_to(outside, target_is_directory=True)
    result = cli("import", "support", str(adapters[0]), cwd=project)
    assert result.exit_code == 2 and "outside the project" in result.stderr
    assert not any(outside.iterdir())
