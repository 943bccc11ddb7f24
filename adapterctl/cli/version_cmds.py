"""import, log, status, deploy, rollback, envs, resolve, push, pull, gc: reading and moving versions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from adapterctl import ui
from adapterctl.cli._lazy import api
from adapterctl.cli import app
from adapterctl.cli._options import JSON, PROJECT

ENV = typer.Option(..., "--env", "-e", help="Environment name, e.g. prod or staging.")
MESSAGE = typer.Option("", "--message", "-m", help="Why: recorded with the move.")


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Adapter NAME declared in adapterctl.toml."),
    path: Path = typer.Argument(..., help="A PEFT adapter folder (adapter_config.json + adapter_model.safetensors)."),
    message: str = typer.Option("", "--message", "-m", help="Message recorded in the version card."),
    any_base: bool = typer.Option(
        False, "--any-base", help="Accept a base_model_name_or_path that differs from the manifest's base "
        "(tensor shapes are still checked)."
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
    limit: int = typer.Option(None, "--limit", "-n", help="Show at most this many versions.", show_default=False),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Version history of an adapter, newest first, with the environments serving each version.

    Example: adapterctl log support -n 5
    """
    entries = api.log(api.open_project(project), name, limit=limit)

    def render(rows: list[api.LogEntry]) -> None:
        ui.table(
            ["version", "created (UTC)", "environments", "metrics", "parent", "message"],
            [
                (e.short, _when(e.created), ", ".join(e.environments), _metrics(e.metrics), e.parent[:12] or "-", e.message)
                for e in rows
            ],
        )

    ui.emit(entries, as_json, render)


def _when(stamp: str) -> str:
    return stamp[:19].replace("T", " ")


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
    rows = api.status(api.open_project(project), names or None)

    def render(items: list) -> None:
        if not items:
            ui.info("no adapters declared yet: adapterctl add NAME --data PATH")
            return
        ui.table(
            ["adapter", "state", "latest", "why"],
            [(s.name, s.state, s.latest or "-", "; ".join(s.reasons) if s.state == "stale" else "") for s in items],
        )

    ui.emit(rows, as_json, render)


@app.command()
def deploy(
    ref: str = typer.Argument(..., help="Version to deploy: NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    env: str = ENV,
    message: str = MESSAGE,
    force: bool = typer.Option(False, "--force", help="Deploy even if the card records failed eval gates."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Point an environment at a version (weights are verified first); the move is logged.

    Example: adapterctl deploy support@3f2a9c1e --env prod -m "better rouge on the new evals"
    """
    result = api.deploy(api.open_project(project), ref, env, message=message, force=force)
    ui.emit(result, as_json, _render_move)
    _check_synced(result)


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Adapter NAME."),
    env: str = ENV,
    to: str = typer.Option(None, "--to", help="Version to return to (default: the previous target).", show_default=False),
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


def _check_synced(result: Any) -> None:
    """A move whose server did not follow exits 1 (the pointer did move)."""
    if result.sync is not None:
        from adapterctl.cli.serve_cmds import check_synced

        check_synced(result.sync, moved=True)


def _render_move(r: Any) -> None:
    if not r.moved:
        ui.info(f"{r.env} already serves {r.name}@{r.version[:12]}: nothing changed")
        return
    before = f"{r.name}@{r.previous[:12]}" if r.previous else "nothing"
    ui.success(f"{r.env}: {before} → {r.name}@{r.version[:12]}")
    ui.info("commit adapterctl.lock to share the move")
    if r.sync is not None and r.sync.synced:
        from adapterctl.cli.serve_cmds import render_sync

        render_sync(r.sync)


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
                    (e.env, e.name, _when(m["at"]), m["action"], m["from"][:12] or "-", m["to"][:12],
                     "yes" if m.get("forced") else "", m.get("message", ""))
                    for e in items
                    for m in e.moves
                ],
            )
        else:
            ui.table(
                ["env", "adapter", "version", "since (UTC)", "moves"],
                [(e.env, e.name, e.short, _when(e.deployed), len(e.moves)) for e in items],
            )

    ui.emit(rows, as_json, render)


@app.command()
def resolve(
    ref: str = typer.Argument(..., help="NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    pull: bool = typer.Option(False, "--pull", help="Fetch the weights from the remote if they are not here."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Print the local folder of a verified version, for deployment scripts.

    Exit 2 if the weights are missing (without --pull) or do not match their id.

    Example: adapterctl resolve support@prod --pull
    """
    result = api.resolve(api.open_project(project), ref, pull=pull)
    ui.emit(result, as_json, lambda r: ui.out.print(str(r.path), markup=False, highlight=False, soft_wrap=True))


@app.command()
def push(
    ref: str = typer.Argument(None, help="A version (default: everything DVC tracks).", show_default=False),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Upload a version's weights (or all data, base and versions) to the DVC remote.

    Example: adapterctl push support@prod
    """
    result = api.push(api.open_project(project), ref)
    ui.emit(result, as_json, lambda r: ui.success(f"pushed {', '.join(r.targets)} to {r.remote} ({r.files} files uploaded)"))


@app.command()
def pull(
    ref: str = typer.Argument(None, help="A version (default: everything DVC tracks).", show_default=False),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Fetch a version's weights (only that version) or everything from the DVC remote, verified.

    Example: adapterctl pull support@prod
    """
    result = api.pull(api.open_project(project), ref)
    ui.emit(result, as_json, lambda r: ui.success(f"pulled {', '.join(r.targets)} from {r.remote}; verified {len(r.verified)} version(s)"))


@app.command()
def gc(
    keep_last: int = typer.Option(3, "--keep-last", "-k", help="Also keep the last K versions of each adapter."),
    force: bool = typer.Option(False, "--force", help="Delete; without it gc only lists what it would delete."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Remove local copies of versions that no environment and none of the last K log entries need.

    Only versions the remote holds are removed; cards stay, so `pull` brings any back.

    Example: adapterctl gc --keep-last 5 --force
    """
    result = api.gc(api.open_project(project), keep_last=keep_last, force=force)

    def render(r: Any) -> None:
        verb = "would remove" if r.dry_run else "removed"
        for e in r.remove:
            ui.info(f"{verb} {e.ref}")
        for e in r.kept:
            ui.warn(f"kept {e.ref}: {e.reason}")
        if r.dry_run:
            ui.info(f"{len(r.remove)} version(s) to remove; run with --force to delete them")
        else:
            ui.success(f"removed {len(r.remove)} local version(s), freed {r.freed_bytes / 1e6:.1f} MB")

    ui.emit(result, as_json, render)
