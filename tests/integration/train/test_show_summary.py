"""After `train`: the commit hint, and `show NAME@REF` summarising the loss history (all of it with --full)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapterctl.train import curve


def test_curve_summary() -> None:
    points = [
        {"step": 0, "val_loss": 3.0},
        {"step": 1, "loss": 2.5},
        {"step": 2, "loss": 2.7, "val_loss": 2.9},
        {"step": 3, "loss": 2.6},
    ]
    assert curve.summary(points) == {
        "points": 4,
        "steps": 3,
        "loss": {"first": 2.5, "last": 2.6, "best": 2.5},
        "val_loss": {"first": 3.0, "last": 2.9, "best": 2.9},
    }
    assert curve.summary([]) == {"points": 0, "steps": 0}


@pytest.mark.slow
def test_train_hints_commit_and_show_summarises_history(example_project: Path, cli) -> None:
    trained = cli(
        "train",
        "--no-eval",
        "support",
        "--set",
        "train.max_steps=6",
        "--set",
        "train.eval_steps=2",
        cwd=example_project,
    )
    assert trained.exit_code == 0, trained.output
    assert "commit the new versions: git add adapters/support && git commit" in trained.stderr

    card = json.loads(cli("show", "support@~0", "--json", cwd=example_project).stdout)
    history = card["training"]["history"]
    assert len(history) > 3, "--json keeps every point"

    short = cli("show", "support@~0", cwd=example_project)
    full = cli("show", "support@~0", "--full", cwd=example_project)
    assert short.exit_code == full.exit_code == 0
    summary = curve.summary(history)
    assert f"steps = {summary['steps']}" in short.stdout and f"points = {len(history)}" in short.stdout
    assert f"best = {summary['loss']['best']}" in short.stdout
    assert "--full prints them all" in short.stderr
    losses = [p["loss"] for p in history if "loss" in p]
    middle = [v for v in losses if v not in summary["loss"].values()]
    assert middle, history
    assert all(repr(v) in full.stdout for v in losses), "--full prints every point"
    assert not any(repr(v) in short.stdout for v in middle), "the summary leaves the points out"
