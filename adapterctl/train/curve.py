"""The loss-curve PNG saved with every version: train loss per step, val loss per eval."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def history(log_history: list[dict[str, Any]], baseline_val: float | None) -> list[dict[str, Any]]:
    """[{step, loss?, val_loss?}] from the trainer's log history, with the step-0 val loss first."""
    points: dict[int, dict[str, Any]] = {}
    if baseline_val is not None:
        points[0] = {"step": 0, "val_loss": baseline_val}
    for entry in log_history:
        step = int(entry.get("step", 0))
        point = points.setdefault(step, {"step": step})
        if "loss" in entry:
            point["loss"] = float(entry["loss"])
        if "eval_loss" in entry:
            point["val_loss"] = float(entry["eval_loss"])
    return [points[s] for s in sorted(points) if len(points[s]) > 1]


def compact(points: list[dict[str, Any]], limit: int = 200) -> list[dict[str, Any]]:
    """At most about `limit` points for the card: every val-loss point, train loss at a stride."""
    stride = max(1, -(-len(points) // limit))
    return [p for i, p in enumerate(points) if "val_loss" in p or i % stride == 0 or i == len(points) - 1]


def plot(points: list[dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.6), dpi=100)
    ax = fig.add_subplot()
    train = [(p["step"], p["loss"]) for p in points if "loss" in p]
    val = [(p["step"], p["val_loss"]) for p in points if "val_loss" in p]
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", linewidth=1)
    if val:
        ax.plot(*zip(*val, strict=True), label="val loss", marker="o", markersize=3, linewidth=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if train or val:
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    return path


def summary(points: list[dict[str, Any]]) -> dict[str, Any]:
    """What `show` prints instead of every point: steps, and first/last/best of each loss."""
    out: dict[str, Any] = {"points": len(points), "steps": max((p.get("step", 0) for p in points), default=0)}
    for key in ("loss", "val_loss"):
        values = [p[key] for p in points if key in p]
        if values:
            out[key] = {"first": values[0], "last": values[-1], "best": min(values)}
    return out
