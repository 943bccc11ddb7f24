"""What `train` and `sweep` return: one typed row per trained adapter, shaped for the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrainResult:
    adapter: str
    version: str | None  # the full id; None when nothing was registered
    short: str | None
    parent: str | None
    run_id: str
    steps: int
    val_loss: dict[str, Any]
    train_seconds: float
    tokens_per_second: float | None
    notices: list[str]
    sweep: dict[str, Any] | None = None
    eval: Any = None  # evaluation.runner.VersionEval when train evaluated the new version


@dataclass
class SweepResult:
    sweep_id: str
    adapter: str
    metric: str
    best: str | None  # version id of the best candidate
    candidates: list[TrainResult]  # best first


def train_result(outcome: Any) -> TrainResult:
    """A runner outcome (summary + registered version, if any) as a TrainResult."""
    summary, version = outcome.summary, outcome.version
    return TrainResult(
        adapter=outcome.adapter,
        version=version.id if version is not None else None,
        short=version.short if version is not None else None,
        parent=(version.parent or None) if version is not None else None,
        run_id=outcome.run_id,
        steps=summary.steps or 0,
        val_loss=summary.val_loss.model_dump() if summary.val_loss else {},
        train_seconds=summary.train_seconds or 0.0,
        tokens_per_second=summary.tokens_per_second,
        notices=list(outcome.notices),
        sweep=outcome.sweep,
    )
