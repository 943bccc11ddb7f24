"""init, add, list, validate on the real stack: real git, real DVC, the real tiny model."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import git
import pytest

REPO = Path(__file__).resolve().parents[2]


def test_init_example_validates_and_lists_both_adapters(tmp_path: Path, cli) -> None:
    result = cli("init", "demo", "--example", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    demo = tmp_path / "demo"
    assert cli("validate", cwd=demo).exit_code == 0
    listed = cli("list", "--json", cwd=demo)
    assert [a["name"] for a in json.loads(listed.stdout)] == ["support", "docs"]

    repo = git.Repo(demo)
    assert not repo.is_dirty(untracked_files=True), "init leaves a clean, committed tree"
    tracked = set(repo.git.ls_files().splitlines())
    assert {
        ".dvc/config",
        "data/support.jsonl.dvc",
        "evals/docs.jsonl.dvc",
        "models/tiny-base.dvc",
        ".github/workflows/adapters.yml",
        "adapterctl.toml",
        ".gitignore",
    } <= tracked
    assert "data/support.jsonl" not in tracked, "data is DVC's, not git's"
    assert (demo / ".dvc/cache").is_dir()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(demo / "models/tiny-base").config.hidden_size == 64

    # Issue 17: the project is the user's: named after its folder, no pointers at adapterctl's
    # own repository files, and the README's output folders stay out of `git status`.
    manifest = (demo / "adapterctl.toml").read_text()
    assert 'name = "demo"' in manifest and "make_example" not in manifest
    (demo / "merged").mkdir()
    (demo / "merged/model.safetensors").write_text("x")
    (demo / "clean").mkdir()
    (demo / "clean/fixes.jsonl").write_text("")
    assert not repo.is_dirty(untracked_files=True), "merged/ and clean/ are ignored"


def test_init_refuses_an_existing_project(example_project: Path, cli) -> None:
    before = (example_project / "adapterctl.toml").read_text()
    result = cli("init", str(example_project))
    assert result.exit_code == 2 and "already an adapterctl project" in result.stderr
    assert (example_project / "adapterctl.toml").read_text() == before


def test_plain_init_with_local_base_then_add(tmp_path: Path, tiny_model_dir: Path, cli) -> None:
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(tiny_model_dir, root / "base")
    (root / "data").mkdir()
    (root / "data/billing.jsonl").write_text('{"instruction": "i", "input": "x", "output": "y"}\n')
    assert cli("init", str(root), "--base-model", "base").exit_code == 0
    manifest = (root / "adapterctl.toml").read_text()
    assert 'model = "base"' in manifest and "# adapterctl manifest" in manifest
    assert (root / "templates/default.txt").exists()

    result = cli("add", "billing", "--data", "data/billing.jsonl", "--template", "templates/default.txt", cwd=root)
    assert result.exit_code == 0, result.stderr
    after = (root / "adapterctl.toml").read_text()
    assert after.startswith(manifest.rstrip("\n")), "add keeps every existing line and comment"
    shown = json.loads(cli("show", "billing", "--json", cwd=root).stdout)
    assert shown["data"] == "data/billing.jsonl" and shown["lora"]["r"] == 16 and len(shown["spec_hash"]) == 64


def test_add_rejects_bad_input_without_writing(example_project: Path, cli) -> None:
    before = (example_project / "adapterctl.toml").read_text()
    for args, message in [
        (("add", "support", "--data", "data/support.jsonl"), "already exists"),
        (("add", "new", "--data", "data/missing.jsonl"), "data/missing.jsonl does not exist"),
        (("add", "../evil", "--data", "data/support.jsonl"), "invalid adapter name"),
    ]:
        result = cli(*args, cwd=example_project)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
    assert (example_project / "adapterctl.toml").read_text() == before


@pytest.mark.slow  # builds a wheel
def test_wheel_ships_templates_and_example(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("adapterctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "adapterctl/templates/adapterctl.toml",
        "adapterctl/templates/workflows/adapters.yml",
        "adapterctl/example/adapterctl.toml",
        "adapterctl/example/data/support.jsonl",
        "adapterctl/example/templates/docs.txt",
    } <= names


def test_init_writes_files_readable_by_other_users(tmp_path: Path) -> None:
    """A serving process under another account must read the manifest, lock and version files."""
    import os
    import stat

    from adapterctl import api

    saved = os.umask(0o022)
    try:
        root = tmp_path / "p"
        api.init(root, example=False, remote=str(tmp_path / "remote"))
    finally:
        os.umask(saved)
    written = [p for p in ("adapterctl.toml", ".gitignore", ".github/workflows/adapters.yml") if (root / p).exists()]
    assert "adapterctl.toml" in written
    for rel in written:
        assert stat.S_IMODE((root / rel).stat().st_mode) == 0o644, rel
    base_files = [p for p in (root / "models/tiny-base").rglob("*") if p.is_file()]
    assert any(p.name == "model.safetensors" for p in base_files)
    for path in base_files:  # issue 17: safetensors wrote the weights 0600
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    assert "docs/manifest.md of the adapterctl project" in (root / "adapterctl.toml").read_text()


def test_init_on_a_file_exits_2_and_leaves_it(tmp_path: Path, cli) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    for target in (path, path / "sub"):
        result = cli("init", str(target), cwd=tmp_path)
        assert result.exit_code == 2, result.stderr
        assert "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert path.read_text() == "mine"
