"""Fixtures for eval, diff and report: the example project cut down so a version trains in a
few steps and evaluates in seconds (200 train rows, 8 eval rows, 16 new tokens)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FAST = ["train.max_steps=4", "train.eval_steps=2", "train.batch_size=8"]
EVAL_ROWS = 8


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def set_gates(root: Path, gates: str) -> None:
    """Replace the body of [adapters.support.gates] in the manifest."""
    path = root / "adapterctl.toml"
    head, _, rest = path.read_text().partition("[adapters.support.gates]\n")
    _, _, tail = rest.partition("\n\n")
    path.write_text(f"{head}[adapters.support.gates]\n{gates.strip()}\n\n{tail}")


def make_small(root: Path) -> None:
    """Cut the example project at `root` down to 200 train and EVAL_ROWS eval rows, and commit."""
    for name in ("support", "docs"):
        data = root / f"data/{name}.jsonl"
        data.write_text("".join(data.read_text().splitlines(keepends=True)[:200]))
        evals = root / f"evals/{name}.jsonl"
        evals.write_text("".join(evals.read_text().splitlines(keepends=True)[:EVAL_ROWS]))
    manifest = root / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("max_new_tokens = 64", "max_new_tokens = 16"))
    set_gates(root, 'rouge_l = ">= 0.2"')  # these tests' own gate, whatever the example sets
    from adapterctl.store import storage

    storage.track(root, [*root.glob("data/*.jsonl"), *root.glob("evals/*.jsonl")])
    git(root, "add", "-A")
    git(root, "commit", "-qm", "small example")


def train_fast(root: Path, *overrides: str, name: str = "support") -> str:
    """Train NAME in the project at `root` (no eval) with FAST and `overrides`; the new version id."""
    from adapterctl import api
    from adapterctl.core.project import Project

    [result] = api.train(Project(root), [name], overrides=[*FAST, *overrides], progress="none")
    return result.version


@pytest.fixture
def small(example_project: Path) -> Path:
    make_small(example_project)
    return example_project


@pytest.fixture(scope="session")
def _small_trained_template(_example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`small` with `support` trained once (FAST, no eval), shared by the tests that start there."""
    from adapterctl.store import storage

    base = tmp_path_factory.mktemp("small-trained")
    root, remote = base / "demo", base / "remote"
    shutil.copytree(_example_template, root, symlinks=True)
    shutil.copytree(_example_template.parent / "remote", remote)
    storage.add_remote(root, "storage", str(remote))
    make_small(root)
    return root, train_fast(root)


@pytest.fixture
def small_trained(_small_trained_template: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A fresh copy of `small` with one trained, never evaluated version of `support`: (root, its id).
    The same spec and seed always give the same id, so sharing the training changes nothing."""
    from adapterctl.store import storage

    template, vid = _small_trained_template
    root, remote = tmp_path / "demo", tmp_path / "remote"
    shutil.copytree(template, root, symlinks=True)
    shutil.copytree(template.parent / "remote", remote)
    storage.add_remote(root, "storage", str(remote))
    return root, vid


@pytest.fixture
def trained(small: Path):
    """Train `support` (no eval) with the given extra overrides; returns the new version id."""

    def run(*overrides: str, name: str = "support") -> str:
        return train_fast(small, *overrides, name=name)

    return run
