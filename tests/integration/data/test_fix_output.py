"""`data fix NAME OUT` never writes over an input, into adapterctl's folders or through a
symlink, and writes all at once (issue 17, data loss); `data check` refuses a data file that
leads outside the project, as `validate` does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapterctl import api
from adapterctl.core.errors import DataError, UsageError
from adapterctl.core.project import Project
from adapterctl.data.hygiene import fix_output


def _fix(root: Path, out: str):
    cwd = os.getcwd()
    os.chdir(root)  # OUT is taken as typed, relative to the working folder
    try:
        return api.data_fix(Project(root), "planted", out)
    finally:
        os.chdir(cwd)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".adapterctl" not in p.parts
    }


def test_fix_into_the_folder_holding_an_input_of_the_same_name_is_refused(planted_no_length, cli) -> None:
    root, _ = planted_no_length
    # The layout: data = "support.jsonl" at the root, its eval file evals/support.jsonl.
    (root / "data/train.jsonl").rename(root / "train.jsonl")
    (root / "evals/eval.jsonl").rename(root / "evals/train.jsonl")
    manifest = root / "adapterctl.toml"
    manifest.write_text(
        manifest.read_text()
        .replace('data = "data/train.jsonl"', 'data = "train.jsonl"')
        .replace("evals/eval.jsonl", "evals/train.jsonl")
    )
    before = _tree(root)
    result = cli("data", "fix", "planted", "evals", cwd=root)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "data fix: evals: holds the input evals/train.jsonl" in result.stderr
    assert _tree(root) == before, "no input (nor anything else) was written"


@pytest.mark.parametrize(
    "out, message",
    [
        (".", "project root"),
        ("adapters/planted/0123abcd", "adapters/ belongs to adapterctl"),
        ("environments", "environments/ belongs"),
        (".dvc/clean", ".dvc/ belongs"),
        (".git/clean", ".git/ belongs"),
        ("data/train.jsonl/x", "would overwrite data/train.jsonl"),
        ("data", "holds the input data/train.jsonl"),
        ("../elsewhere", "outside the project"),
    ],
)
def test_fix_refuses_outputs_that_are_not_a_new_folder_of_the_users(planted_no_length, out, message) -> None:
    root, _ = planted_no_length
    (root / "environments").mkdir()
    before = _tree(root)
    with pytest.raises(UsageError, match=message):
        _fix(root, out)
    assert _tree(root) == before
    assert not (root.parent / "elsewhere").exists()


def test_nothing_is_written_through_a_symlink(planted_no_length, tmp_path) -> None:
    root, _ = planted_no_length
    before = _tree(root)
    # fx/data -> ../evals: the cleaned eval file would land on the input.
    (root / "fx").mkdir()
    (root / "fx/data").symlink_to("../evals")
    with pytest.raises(UsageError, match="not empty"):
        _fix(root, "fx")
    with pytest.raises(UsageError, match="fx/data is a symlink"):
        _fix(root, "fx/data/clean")
    # A link to an empty real folder, and a link leading outside the project.
    (root / "empty").mkdir()
    (root / "via").symlink_to("empty")
    with pytest.raises(UsageError, match="via is a symlink"):
        _fix(root, "via")
    outside = tmp_path / "outside"
    (root / "out").symlink_to(outside)  # dangling: the folder does not exist yet
    with pytest.raises(UsageError, match="out is a symlink"):
        _fix(root, "out")
    # A dangling link inside the --fix folder.
    (root / "dangling").mkdir()
    (root / "dangling/d").symlink_to(tmp_path / "made-outside")
    with pytest.raises(UsageError, match="not empty"):
        _fix(root, "dangling")
    assert not outside.exists() and not (tmp_path / "made-outside").exists()
    assert {k: v for k, v in _tree(root).items() if k in before} == before


def test_fix_writes_a_new_or_empty_folder_all_at_once(planted_no_length) -> None:
    root, _ = planted_no_length
    (root / "empty").mkdir()
    result = _fix(root, "empty")
    assert result.out == root / "empty" and (root / "empty/fixes.jsonl").is_file()
    assert (root / "empty/data/train.jsonl").is_file() and (root / "empty/evals/eval.jsonl").is_file()
    assert all(f.written.is_file() and f.written.is_relative_to(root / "empty") for f in result.files)
    result = _fix(root, "new/deeper")
    assert (root / "new/deeper/fixes.jsonl").is_file()
    assert not list(root.glob(".*.fix-*")) and not list((root / "new").glob(".*.fix-*")), "no staging left"
    # A second fix into the same (now full) folder is refused rather than mixed in.
    with pytest.raises(UsageError, match="not empty"):
        _fix(root, "empty")


def test_a_failed_write_leaves_no_output_and_no_staging(tmp_path) -> None:
    out = tmp_path / "clean"
    with pytest.raises(RuntimeError), fix_output.staged(out) as staging:
        (staging / "half.jsonl").write_text("{}\n")
        raise RuntimeError("killed half-way")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_data_check_applies_validates_inside_the_project_rule(planted_no_length, cli, tmp_path) -> None:
    root, _ = planted_no_length
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"instruction": "x", "input": "private", "output": "y"}\n')
    (root / "data/pw.jsonl").symlink_to(secret)
    manifest = root / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("data/train.jsonl", "data/pw.jsonl"))
    validate = cli("validate", cwd=root)
    check = cli("data", "check", "planted", cwd=root)
    assert validate.exit_code == 2 and check.exit_code == 2
    for result in (validate, check):
        assert "adapters.planted.data: data/pw.jsonl is outside the project" in result.stderr + result.stdout
    assert "private" not in check.stdout + check.stderr
    with pytest.raises(DataError, match="outside the project"):
        _fix(root, "clean")


def test_fix_takes_the_lock_path_of_every_state_change(planted_no_length) -> None:
    """`data fix` writes under the project lock entered as every state change enters it, which
    first sweeps what an interrupted registration left."""
    root, _ = planted_no_length
    leftover = Project(root).state_dir / "staging" / "0badc0de"
    leftover.mkdir(parents=True)
    (leftover / "adapter_model.safetensors").write_bytes(b"half a copy")
    result = _fix(root, "clean")
    assert result.files and (root / "clean").is_dir()
    assert not leftover.exists(), "the interrupted registration's staged copy was swept"
