"""Options shared by many commands, declared once."""

from __future__ import annotations

import typer

JSON = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
PROJECT = typer.Option(
    None,
    "--project",
    "-C",
    help="Project folder (default: the nearest one holding adapterctl.toml).",
    show_default=False,
)
SET = typer.Option(
    None,
    "--set",
    help="Override a spec key for this run, TABLE.KEY=VALUE (e.g. train.learning_rate=1e-4).",
    show_default=False,
)


def when(stamp: str) -> str:
    """A card or move timestamp as people read it: 2026-11-28 09:45:00."""
    return stamp[:19].replace("T", " ")
