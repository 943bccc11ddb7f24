"""Shared fixtures. Every test runs isolated: temporary HOME, no colour, offline hub,
a fixed git identity, and no DVC analytics. Tiny models are built once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ISOLATED_ENV = {
    "NO_COLOR": "1",
    "COLUMNS": "200",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "adapterctl tests",
    "GIT_AUTHOR_EMAIL": "tests@adapterctl.invalid",
    "GIT_COMMITTER_NAME": "adapterctl tests",
    "GIT_COMMITTER_EMAIL": "tests@adapterctl.invalid",
    "TOKENIZERS_PARALLELISM": "false",
}

# Set for the whole session too: libraries read some of these at import time.
os.environ.update(ISOLATED_ENV)


@pytest.fixture(autouse=True)
def isolation(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in ISOLATED_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in tiny base model, built once per test session. Treat it as read-only."""
    from adapterctl.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-base")


@pytest.fixture(scope="session")
def _example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adapterctl import api

    root = tmp_path_factory.mktemp("example-template") / "demo"
    remote = root.parent / "remote"
    api.init(root, example=True, remote=str(remote))
    return root


@pytest.fixture
def example_project(_example_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of `adapterctl init demo --example --remote <tmp>/remote` (git + DVC)."""
    root = tmp_path / "demo"
    shutil.copytree(_example_template, root, symlinks=True)
    remote = tmp_path / "remote"
    shutil.copytree(_example_template.parent / "remote", remote)
    from adapterctl.store import storage

    storage.add_remote(root, "storage", str(remote))  # point the copy at its own remote
    return root


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Run `adapterctl ARGS` in-process in folder `cwd`; returns click's Result (stdout, stderr, exit_code)."""
    from adapterctl.cli import app

    def run(*args: str, cwd: Path | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    return run
