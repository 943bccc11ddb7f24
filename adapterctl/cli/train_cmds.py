"""train, sweep: turning a declared spec into versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT, SET
from adapterctl.core import ui
from adapterctl.core.errors import CheckFailed
from adapterctl.core.refs import short


@app.command()
def train(
    names: list[str] = typer.Argument(
        None, help="Adapters to train, in turn (the base loads once where it can).", show_default=False
    ),
    all_stale: bool = typer.Option(
        False,
        "--all-stale",
        help="Also train every adapter that is stale (its latest version no longer matches the manifest) or has no version yet.",
    ),
    overrides: list[str] = SET,
    resume: bool = typer.Option(
        False, "--resume", help="Continue the newest interrupted run of each NAME from its last checkpoint."
    ),
    launcher: Literal["none", "accelerate"] | None = typer.Option(
        None,
        "--launcher",
        help="none (the default): train in this process; accelerate: run the same recipe under `accelerate launch` (DDP/FSDP). --resume without it starts the run as it was started.",
        show_default=False,
    ),
    num_processes: int = typer.Option(
        None,
        "--num-processes",
        help="Processes for --launcher accelerate (default: one per GPU, else 1).",
        show_default=False,
    ),
    accelerate_config: str = typer.Option(
        None,
        "--accelerate-config",
        help="ddp, fsdp, cpu, or an accelerate config YAML (default: ddp on GPUs, cpu without).",
        show_default=False,
    ),
    message: str = typer.Option("", "--message", "-m", help="A note stored in each new version's card."),
    no_eval: bool = typer.Option(False, "--no-eval", help="Skip the eval and gates that run on each new version."),
    allow_data_errors: bool = typer.Option(
        False,
        "--allow-data-errors",
        help="Train even when `data check` finds errors in the data; the card records the override.",
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Train adapters from their declared specs into new, immutable versions.

    QLoRA/LoRA through TRL's SFTTrainer: completion-only loss, padding-free batches, val loss every eval_steps with optional early stopping.

    The data passes `adapterctl data check` first (cached while the files are unchanged); data with errors, such as eval rows leaked into training, is refused (exit 2) unless given --allow-data-errors.

    Each new version is then evaluated on its adapter's eval set and its gates are checked (see `eval`); a failed gate is recorded and exits 1 (the version stays registered; deploy refuses it without --ignore-gates). --no-eval skips this.

    Checkpoints go to .adapterctl/runs/; Ctrl-C exits 130 and registers nothing, and --resume continues from the last checkpoint, started as the run was (unless --launcher is given) and reporting as this command asks (--json). With --json, progress is printed as one JSON object per line.

    Example: adapterctl train support --set train.learning_rate=1e-4
    """
    root = api.open_project(project)
    results = api.train(
        root,
        names or [],
        overrides=overrides or [],
        resume=resume,
        all_stale=all_stale,
        launcher=launcher,
        num_processes=num_processes,
        accelerate_config=accelerate_config,
        progress="json" if as_json else "auto",
        message=message,
        evaluate=not no_eval,
        allow_data_errors=allow_data_errors,
    )
    if as_json:
        from adapterctl.train.progress import json_line

        json_line({"event": "done", "results": results})
    else:
        for r in results:
            _render_trained(r)
        _commit_hint(root.root, [r.adapter for r in results if r.version])
    failed = [r.eval for r in results if r.eval is not None and not r.eval.passed]
    if failed:  # exit 1, as the README's table says for a failed gate; the versions stay registered
        detail = "; ".join(f"{e.ref}: {', '.join(e.failed)}" for e in failed)
        raise CheckFailed(
            f"gates failed: {detail}; the version is registered, but deploy refuses it without --ignore-gates"
        )


def _commit_hint(root: Path, adapters: list[str]) -> None:
    """New cards are files in git, like import's and deploy's: say what to commit."""
    if adapters:
        import os

        folders = " ".join(os.path.relpath(root / "adapters" / name) for name in dict.fromkeys(adapters))
        ui.info(f"commit the new versions: git add {folders} && git commit")


def _render_trained(r: Any) -> None:
    loss = r.val_loss or {}
    first, final = loss.get("first"), loss.get("final")
    val = f", val loss {first:.3f} → {final:.3f} ({-100 * loss['drop']:+.0f}%)" if first and final else ""
    parent = f" (parent {short(r.parent)})" if r.parent else ""
    if not r.run_id and r.version:  # a combination, rebuilt from its inputs
        ui.success(f"{r.adapter}: version {r.short}{parent}, {'; '.join(r.notices)}")
        return
    target = f"version {r.short}{parent}" if r.version else f"run {r.run_id} (not registered)"
    ui.success(f"{r.adapter}: {target}{val}, {r.steps} steps in {r.train_seconds:.0f}s")
    if r.eval is not None:
        e = r.eval
        shown = ", ".join(f"{k} {v:.4g}" for k, v in list(e.metrics.items())[:3])
        ui.info(f"{e.ref}: eval on {e.rows} rows: {shown} (adapterctl eval {e.ref} for the full table)")
        if e.passed:
            ui.success(f"{e.ref}: gates passed" if e.gates.results else f"{e.ref}: no gates declared")
        else:
            ui.warn(
                f"{e.ref}: gates failed: {'; '.join(e.failed)} (registered; deploy refuses it without --ignore-gates)"
            )


@app.command()
def sweep(
    name: str = typer.Argument(..., help="The adapter to sweep."),
    grid: list[str] = typer.Option(
        None,
        "--grid",
        help="A grid axis, TABLE.KEY=V1,V2,... (repeat for more axes; TOML values).",
        show_default=False,
        metavar="KEY=V1,V2",
    ),
    overrides: list[str] = typer.Option(
        None,
        "--set",
        help="Override a key for every candidate, TABLE.KEY=VALUE (as in train).",
        show_default=False,
    ),
    message: str = typer.Option("", "--message", "-m", help="A note stored in each candidate's card."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Train a grid of candidate versions and rank them by val loss; the best is marked.

    Each candidate is a version whose card carries the sweep id, its parameters and rank. The best one is registered last, so it becomes the adapter's latest version.

    Example: adapterctl sweep support --grid train.learning_rate=1e-4,2e-4,5e-4 --grid lora.r=8,16
    """
    result = api.sweep(
        api.open_project(project),
        name,
        grid or [],
        overrides=overrides or [],
        progress="json" if as_json else "auto",
        message=message,
    )
    if as_json:
        from adapterctl.train.progress import json_line

        json_line({"event": "done", "sweep": result})
        return
    rows = []
    for c in result.candidates:
        params = ", ".join(f"{k}={v}" for k, v in (c.sweep or {}).get("params", {}).items())
        final = (c.val_loss or {}).get("final")
        rows.append(
            (
                (c.sweep or {}).get("rank"),
                c.short or "-",
                params,
                f"{final:.4f}" if final is not None else "-",
                "best" if (c.sweep or {}).get("best") else "",
            )
        )
    ui.table(["rank", "version", "parameters", "val loss", ""], rows, title=f"{result.sweep_id} ({name})")
    if result.best:
        ui.success(f"best: {name}@{short(result.best)} (now the latest version of {name})")
