"""Sweeps: a grid of --grid values, one candidate per combination, ranked by val loss.

    --grid train.learning_rate=1e-4,2e-4,5e-4 --grid lora.r=8,16   → 6 candidates

Values are TOML, split on top-level commas only, so `lora.target_modules=["q_proj","v_proj"]`
is one value.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from adapterctl import manifest
from adapterctl.core.errors import ManifestError, UsageError
from adapterctl.core.project import Project, atomic_write
from adapterctl.train.options import RunOptions
from adapterctl.train.results import SweepResult, train_result
from adapterctl.versions.card import SweepInfo

MAX_CANDIDATES = 64


def new_id() -> str:
    return f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def split_values(text: str) -> list[str]:
    """`1e-4,2e-4` → ["1e-4", "2e-4"]; commas inside [...], {...} or quotes do not split."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def parse_grid(assignments: list[str]) -> list[tuple[str, list[str]]]:
    """[(TABLE.KEY, [value, ...])] in the order given; each key checked like --set."""
    grid: list[tuple[str, list[str]]] = []
    for item in assignments:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise ManifestError(f"--grid {item!r}: write TABLE.KEY=V1,V2,... e.g. train.learning_rate=1e-4,2e-4")
        manifest.parse_overrides([f"{key}={split_values(values)[0]}"])  # names the key on a typo
        if any(k == key for k, _ in grid):
            raise UsageError(f"--grid {key} is given twice; list all its values in one --grid")
        grid.append((key, split_values(values)))
    return grid


def expand(grid: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Every combination, as --set assignment lists."""
    combos = [list(c) for c in itertools.product(*[[f"{k}={v}" for v in values] for k, values in grid])]
    if len(combos) > MAX_CANDIDATES:
        raise UsageError(f"the grid has {len(combos)} candidates; at most {MAX_CANDIDATES} per sweep")
    return combos


def params(assignments: list[str]) -> dict[str, Any]:
    """{"train.learning_rate": 0.0001, ...} for the card."""
    out = {}
    for item in assignments:
        key, _, value = item.partition("=")
        out[key] = manifest.parse_value(value)
    return out


def rank(val_losses: list[float | None]) -> list[int]:
    """Indices from best (lowest val loss) to worst; candidates without one come last."""
    return sorted(range(len(val_losses)), key=lambda i: (val_losses[i] is None, val_losses[i] or 0.0, i))


def run(
    project: Project, name: str, grid: list[str], *, overrides: list[str], options: RunOptions, message: str
) -> SweepResult:
    """Train every combination of the grid's values as a candidate version of NAME.

    Candidates are ranked by val loss (lowest first). Each is registered with the sweep id,
    its parameters and rank in its card; the best is registered last, so it becomes the
    adapter's latest version, and is marked `best`.
    """
    import json

    from adapterctl.core import ui
    from adapterctl.train import runner, runs

    axes = parse_grid(grid)
    if not axes:
        raise UsageError("give the grid as --grid TABLE.KEY=V1,V2,... (e.g. train.learning_rate=1e-4,2e-4)")
    sweep_id = new_id()
    combos = expand(axes)
    jobs = []
    for i, combo in enumerate(combos, start=1):
        info = SweepInfo(id=sweep_id, candidate=i, of=len(combos), params=params(combo))
        jobs += runner.prepare(project, [name], overrides + combo, options=options, sweep=info)
    spec = jobs[0].adapter_spec()
    if not spec.val_data and spec.train.val_split == 0:
        raise UsageError(f"sweep ranks by val loss: give '{name}' val_data or a val_split above 0")
    outcomes = runner.train_all(project, jobs, options, do_register=False)
    order = rank([o.summary.final_val_loss() for o in outcomes])
    # Worst first, best last: the best becomes the adapter's latest version.
    for rank_pos, index in reversed(list(enumerate(order, start=1))):
        outcome, job = outcomes[index], jobs[index]
        outcome.sweep = {
            **(job.sweep.to_dict() if job.sweep else {}),
            "rank": rank_pos,
            "best": rank_pos == 1,
            "metric": "val_loss",
            "value": outcome.summary.final_val_loss(),
        }
        outcome.version = runner.register(
            project,
            runs.load(runs.runs_dir(project) / outcome.run_id),
            job,
            message=message or f"{sweep_id} candidate {job.sweep.candidate if job.sweep else i}",
            card_extra={"sweep": outcome.sweep},
        )
    results = [train_result(outcomes[i]) for i in order]
    record = SweepResult(sweep_id, name, "val_loss", results[0].version if results else None, results)
    atomic_write(project.state_dir / "sweeps" / f"{sweep_id}.json", json.dumps(ui.to_jsonable(record), indent=2) + "\n")
    return record
