"""Fixtures for training tests: the example project and short-run settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FAST

from adapterctl.core.project import Project

SMALL_ROWS = 200
EVAL_ROWS = 4


@pytest.fixture
def demo(example_project: Path) -> Path:
    """The example project with its first 200 rows per adapter (180 train, 20 val): short runs
    spend their time training rather than tokenising data they never reach."""
    for name in ("support", "docs"):
        path = example_project / f"data/{name}.jsonl"
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:SMALL_ROWS]))
        evals = example_project / f"evals/{name}.jsonl"  # `train` evaluates each new version
        evals.write_text("".join(evals.read_text().splitlines(keepends=True)[:EVAL_ROWS]))
    return example_project


@pytest.fixture
def project(demo: Path) -> Project:
    return Project(demo)


@pytest.fixture
def train_unregistered(project: Project):
    """Train adapters through the real runner, stopping short of registration; returns Outcomes."""
    from adapterctl.train import runner
    from adapterctl.train.options import RunOptions

    def run(*names: str, overrides: list[str] = (), progress: str = "none"):
        options = RunOptions(progress=progress)
        jobs = runner.prepare(project, list(names), [*FAST, *overrides], options=options)
        return runner.train_all(project, jobs, options, do_register=False)

    return run
