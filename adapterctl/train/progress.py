"""Where training progress goes: a rich bar for people, JSON lines for machines, one plain
line per evaluation for logs, or nowhere.

Every sink gets the same events from `callbacks.ProgressCallback`; none of them knows
about the trainer.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol

from adapterctl.core import ui


class ProgressSink(Protocol):
    def start(self, adapter: str, total_steps: int, first_step: int) -> None: ...
    def update(self, step: int, metrics: dict[str, Any]) -> None: ...
    def finish(self) -> None: ...


def json_line(event: dict[str, Any]) -> None:
    """One compact JSON object per line on stdout (what `--json` prints while training)."""
    sys.stdout.write(json.dumps(ui.to_jsonable(event), separators=(",", ":")) + "\n")
    sys.stdout.flush()


def make(kind: str) -> ProgressSink:
    """kind: auto (rich on a terminal, plain otherwise), rich, plain, json or none."""
    if kind == "auto":
        kind = "rich" if ui.interactive() else "plain"
    return {"rich": RichProgress, "plain": PlainProgress, "json": JsonProgress, "none": NoProgress}[kind]()


class _Clock:
    """Step timing for ETA, counted from the first step this process runs (resume-aware)."""

    def __init__(self) -> None:
        self.adapter = ""
        self.total = 0
        self.first = 0
        self.t0 = time.monotonic()
        self.loss: float | None = None
        self.val_loss: float | None = None

    def begin(self, adapter: str, total: int, first: int) -> None:
        self.adapter, self.total, self.first, self.t0 = adapter, total, first, time.monotonic()

    def eta(self, step: int) -> float | None:
        done = step - self.first
        if done <= 0:
            return None
        return (time.monotonic() - self.t0) / done * max(self.total - step, 0)

    def absorb(self, metrics: dict[str, Any]) -> None:
        if "loss" in metrics:
            self.loss = metrics["loss"]
        if "eval_loss" in metrics:
            self.val_loss = metrics["eval_loss"]


class NoProgress(_Clock):
    def start(self, adapter: str, total_steps: int, first_step: int) -> None:
        self.begin(adapter, total_steps, first_step)

    def update(self, step: int, metrics: dict[str, Any]) -> None:
        self.absorb(metrics)

    def finish(self) -> None:
        pass


class JsonProgress(NoProgress):
    def update(self, step: int, metrics: dict[str, Any]) -> None:
        self.absorb(metrics)
        eta = self.eta(step)
        json_line(
            {
                "event": "progress",
                "adapter": self.adapter,
                "step": step,
                "total_steps": self.total,
                "epoch": metrics.get("epoch"),
                "loss": metrics.get("loss"),
                "val_loss": metrics.get("eval_loss"),
                "learning_rate": metrics.get("learning_rate"),
                "eta_s": round(eta, 1) if eta is not None else None,
            }
        )


class PlainProgress(NoProgress):
    """One stderr line per evaluation (and at the end): readable in CI logs."""

    def update(self, step: int, metrics: dict[str, Any]) -> None:
        self.absorb(metrics)
        if "eval_loss" in metrics:
            ui.info(
                f"{self.adapter}: step {step}/{self.total}  loss {_fmt(self.loss)}  "
                f"val loss {_fmt(self.val_loss)}  eta {_duration(self.eta(step))}"
            )


class RichProgress(NoProgress):
    def start(self, adapter: str, total_steps: int, first_step: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        super().start(adapter, total_steps, first_step)
        self.bar: Any = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  val {task.fields[val]}"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=ui.err,
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(adapter, total=total_steps, completed=first_step, loss="-", val="-")

    def update(self, step: int, metrics: dict[str, Any]) -> None:
        self.absorb(metrics)
        self.bar.update(self.task, completed=step, loss=_fmt(self.loss), val=_fmt(self.val_loss))

    def finish(self) -> None:
        if getattr(self, "bar", None) is not None:
            self.bar.stop()
            self.bar = None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes}m{s:02d}s" if minutes else f"{s}s"
