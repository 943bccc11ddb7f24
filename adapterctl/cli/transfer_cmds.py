"""resolve, push, pull, gc: moving version weights between this machine and the DVC remote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui


@app.command()
def resolve(
    ref: str = typer.Argument(..., help="NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    pull: bool = typer.Option(False, "--pull", help="Fetch the weights from the remote if they are not here."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Print the local folder of a verified version, for deployment scripts.

    Exit 4 if the weights are missing here (without --pull) or on the remote, 3 if they do not match their id.

    Example: adapterctl resolve support@prod --pull
    """
    result = api.resolve(api.open_project(project), ref, pull=pull)
    ui.emit(result, as_json, lambda r: ui.out.print(str(r.path), markup=False, highlight=False, soft_wrap=True))


JOBS = typer.Option(
    None,
    "--jobs",
    "-j",
    min=1,
    max=256,
    help="Parallel file transfers (default: DVC's, 4 x CPU cores).",
    show_default=False,
)


@app.command()
def push(
    ref: str = typer.Argument(None, help="A version (default: everything DVC tracks).", show_default=False),
    jobs: int = JOBS,
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Upload a version's weights (or all data, base and versions) to the DVC remote.

    On a terminal a live line shows files and bytes sent; the summary gives both.
    Exit 4 when the remote cannot be reached, refuses the credentials, lacks the bucket or path,
    or needs a DVC plugin that is not installed (the message names the extra to install).

    Example: adapterctl push support@prod --jobs 8
    """
    result = api.push(api.open_project(project), ref, jobs=jobs)
    ui.emit(
        result,
        as_json,
        lambda r: ui.success(
            f"pushed {', '.join(r.targets)} to {r.remote} ({r.files} files, {ui.human_bytes(r.bytes)} uploaded)"
        ),
    )


@app.command()
def pull(
    ref: str = typer.Argument(None, help="A version (default: everything DVC tracks).", show_default=False),
    jobs: int = JOBS,
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Fetch a version's weights (only that version) or everything from the DVC remote, verified.

    On a terminal a live line shows files and bytes received; exit 4 on a remote failure, as for push.

    Example: adapterctl pull support@prod --jobs 8
    """
    result = api.pull(api.open_project(project), ref, jobs=jobs)
    ui.emit(
        result,
        as_json,
        lambda r: ui.success(_pulled(r)),
    )


@app.command()
def gc(
    keep_last: int = typer.Option(3, "--keep-last", "-k", help="Also keep the last K versions of each adapter."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete; without it gc only lists what it would delete."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Remove local copies of versions that no environment and none of the last K log entries need.

    Only versions the remote holds are removed; cards stay, so `pull` brings any back.

    Example: adapterctl gc --keep-last 5 --yes
    """
    result = api.gc(api.open_project(project), keep_last=keep_last, delete=yes)

    def render(r: Any) -> None:
        verb = "would remove" if r.dry_run else "removed"
        for e in r.remove:
            ui.info(f"{verb} {e.ref}")
        for e in r.kept:
            ui.warn(f"kept {e.ref}: {e.reason}")
        if r.dry_run:
            ui.info(f"{len(r.remove)} version(s) to remove; run with --yes to delete them")
        else:
            ui.success(f"removed {len(r.remove)} local version(s), freed {r.freed_bytes / 1e6:.1f} MB")

    ui.emit(result, as_json, render)


def _pulled(r) -> str:
    """Where the bytes came from: the remote, or (nothing downloaded) this machine's DVC cache."""
    what = ", ".join(r.targets)
    if r.files == 0:
        return (
            f"restored {what} from the local DVC cache (nothing was downloaded from {r.remote}); "
            f"verified {len(r.verified)} version(s)"
        )
    return (
        f"pulled {what} from {r.remote} ({r.files} files, {ui.human_bytes(r.bytes)} downloaded); "
        f"verified {len(r.verified)} version(s)"
    )
