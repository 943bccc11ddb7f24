"""import, log, status: adopting versions and reading their history.

log and status call the read-only modules (views, status) directly: `api` brings the
state-changing operations, which the fast commands must not import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT, when
from adapterctl.core import ui
from adapterctl.core.project import find_project
from adapterctl.core.refs import short


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Adapter NAME declared in adapterctl.toml."),
    path: Path = typer.Argument(..., help="A PEFT adapter folder (adapter_config.json + adapter_model.safetensors)."),
    message: str = typer.Option("", "--message", "-m", help="Message recorded in the version card."),
    any_base: bool = typer.Option(
        False,
        "--any-base",
        help="Accept a base_model_name_or_path that differs from the manifest's base "
        "(the structural check still runs; the card records the override).",
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Adopt an existing PEFT adapter folder, such as a plain PEFT/TRL script's output, as a version.

    Example: adapterctl import support ./outputs/checkpoint-500 -m "trained in the notebook"
    """
    result = api.import_adapter(api.open_project(project), name, path, message=message, any_base=any_base)

    def render(r: api.ImportResult) -> None:
        if r.new:
            ui.success(f"registered {r.ref}")
            ui.info(f"commit it: git add {os.path.relpath(r.card.parent)} && git commit")
        else:
            ui.info(f"{r.ref} already exists with this content: nothing changed")
        ui.out.print(r.id, markup=False, highlight=False)

    ui.emit(result, as_json, render)


@app.command()
def log(
    name: str = typer.Argument(..., help="Adapter NAME."),
    limit: int = typer.Option(0, "--limit", "-n", help="Show at most N versions (0: no limit)."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Version history of an adapter, newest first, with the environments serving each version.

    Example: adapterctl log support -n 5
    """
    from adapterctl import views

    entries = views.log(find_project(project), name, limit=limit or None)

    def render(rows: list[api.LogEntry]) -> None:
        ui.table(
            ["version", "created (UTC)", "environments", "metrics", "parent", "message"],
            [
                (
                    e.short,
                    when(e.created),
                    ", ".join(e.environments),
                    _metrics(e.metrics),
                    short(e.parent) or "-",
                    e.message + _notes(e),
                )
                for e in rows
            ],
        )

    ui.emit(entries, as_json, render)


def _notes(entry: api.LogEntry) -> str:
    """What the log line must not hide: an adopted adapter from another base, an unhashed base."""
    notes = ["imported with --any-base"] * entry.any_base + ["base not hashed"] * bool(entry.base_hash_unknown)
    return "".join(f" ({note})" for note in notes)


def _metrics(metrics: dict[str, Any], most: int = 3) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(metrics.items())[:most])


@app.command()
def status(
    names: list[str] = typer.Argument(None, help="Adapters to check (default: all).", show_default=False),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Which adapters are up to date, stale (and why: spec keys, data rows, base) or never trained.

    Example: adapterctl status --json
    """
    from adapterctl import status as stale

    rows = stale.status(find_project(project), names or None)  # not through `api`: off the fast path

    def render(items: list) -> None:
        if not items:
            ui.info("no adapters declared yet: adapterctl add NAME --data PATH")
            return
        ui.table(
            ["adapter", "state", "latest", "why"],
            [(s.name, s.state, s.latest or "-", "; ".join(s.reasons) if s.state == "stale" else "") for s in items],
        )
        for s in items:
            if s.unfinished_run:
                run = s.unfinished_run
                ui.warn(f"{s.name}: run {run['id']} is {run['status']}; continue it with `{run['resume']}`")

    ui.emit(rows, as_json, render)
