"""deploy, rollback, envs: moving environment pointers and reading their history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT, when
from adapterctl.core import ui
from adapterctl.core.refs import short

ENV = typer.Option(..., "--env", "-e", help="Environment name, e.g. prod or staging.")
MESSAGE = typer.Option("", "--message", "-m", help="Why: recorded with the move.")


@app.command()
def deploy(
    ref: str = typer.Argument(..., help="Version to deploy: NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    env: str = ENV,
    message: str = MESSAGE,
    ignore_gates: bool = typer.Option(
        False,
        "--ignore-gates",
        help="Deploy even if the card records failed or missing eval gates; the move records it.",
    ),
    force: bool = typer.Option(False, "--force", hidden=True, help="Old spelling of --ignore-gates."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Point an environment at a version (weights are verified first); the move is logged.

    Example: adapterctl deploy support@3f2a9c1e --env prod -m "better rouge on the new evals"
    """
    result = api.deploy(api.open_project(project), ref, env, message=message, ignore_gates=ignore_gates or force)
    ui.emit(result, as_json, _render_move)
    _check_synced(result)


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Adapter NAME."),
    env: str = ENV,
    to: str = typer.Option(
        None, "--to", help="Version to return to (default: the previous target).", show_default=False
    ),
    message: str = MESSAGE,
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Move an environment back to the version it served before, or to --to REF.

    Refuses when that version's weights are available neither locally nor on the remote.

    Example: adapterctl rollback support --env prod
    """
    result = api.rollback(api.open_project(project), name, env, to=to, message=message)
    ui.emit(result, as_json, _render_move)
    _check_synced(result)


def _render_move(r: Any) -> None:
    if not r.moved:
        ui.info(f"{r.env} already serves {r.name}@{short(r.version)}: nothing changed")
        return
    before = f"{r.name}@{short(r.previous)}" if r.previous else "nothing"
    ui.success(f"{r.env}: {before} → {r.name}@{short(r.version)}")
    ui.info(f"commit environments/{r.env}/{r.name}.toml to share the move")
    if r.sync is not None and r.sync.synced:
        from adapterctl.cli.serve_cmds import render_sync

        render_sync(r.sync)


def _check_synced(result: Any) -> None:
    """A move whose server did not follow exits 1 (the pointer did move)."""
    if result.sync is not None:
        from adapterctl.cli.serve_cmds import check_synced

        check_synced(result.sync, moved=True)


@app.command()
def envs(
    name: str = typer.Argument(None, help="Only this adapter.", show_default=False),
    env: str = typer.Option(None, "--env", "-e", help="Only this environment.", show_default=False),
    history: bool = typer.Option(False, "--history", help="List every move, oldest first."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """What each environment serves, and with --history every move: when, from, to, message, forced.

    Example: adapterctl envs support --env prod --history
    """
    rows = api.environments(api.open_project(project), name, env)

    def render(items: list[api.EnvironmentEntry]) -> None:
        if not items:
            ui.info("no environments yet: adapterctl deploy NAME --env prod")
        elif history:
            ui.table(
                ["env", "adapter", "when (UTC)", "action", "from", "to", "forced", "message"],
                [
                    (
                        e.env,
                        e.name,
                        when(m.at),
                        m.action,
                        short(m.from_) or "-",
                        short(m.to),
                        "yes" if m.forced else "",
                        m.message,
                    )
                    for e in items
                    for m in e.moves
                ],
            )
        else:
            ui.table(
                ["env", "adapter", "version", "since (UTC)", "moves"],
                [(e.env, e.name, e.short, when(e.deployed), len(e.moves)) for e in items],
            )

    ui.emit(rows, as_json, render)
