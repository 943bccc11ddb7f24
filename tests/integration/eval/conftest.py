"""Fixtures for eval, diff and report: the example project cut down so a version trains in a
few steps and evaluates in seconds (200 train rows, 8 eval rows, 16 new tokens)."""

from __future__ import annotations

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


@pytest.fixture
def small(example_project: Path) -> Path:
    for name in ("support", "docs"):
        data = example_project / f"data/{name}.jsonl"
        data.write_text("".join(data.read_text().splitlines(keepends=True)[:200]))
        evals = example_project / f"evals/{name}.jsonl"
        evals.write_text("".join(evals.read_text().splitlines(keepends=True)[:EVAL_ROWS]))
    manifest = example_project / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("max_new_tokens = 64", "max_new_tokens = 16"))
    from adapterctl import storage

    storage.track(example_project, [*example_project.glob("data/*.jsonl"), *example_project.glob("evals/*.jsonl")])
    git(example_project, "add", "-A")
    git(example_project, "commit", "-qm", "small example")
    return example_project


@pytest.fixture
def trained(small: Path):
    """Train `support` (no eval) with the given extra overrides; returns the new version id."""
    from adapterctl import api
    from adapterctl.project import Project

    def run(*overrides: str, name: str = "support") -> str:
        [result] = api.train(Project(small), [name], overrides=[*FAST, *overrides], progress="none")
        return result.version

    return run
