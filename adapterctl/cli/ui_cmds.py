"""ui: the local dashboard over the same functions as these commands."""

from __future__ import annotations

from pathlib import Path

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import PROJECT


@app.command()
def ui(
    port: int = typer.Option(8600, "--port", "-p", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but 127.0.0.1 needs --api-key."),
    api_key: str = typer.Option(
        None,
        "--api-key",
        help="Require this key (Bearer header, or open the printed ?key= URL once); default: $ADAPTERCTL_API_KEY.",
        show_default=False,
    ),
    allow_actions: bool = typer.Option(
        False, "--allow-actions", help="Add deploy and rollback buttons (each asks first, under the project lock)."
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the overview in a web browser."),
    project: Path = PROJECT,
) -> None:
    """A local dashboard of adapters, versions, metrics, environments and diffs, read-only by default.

    Pages follow new versions and pointer moves live. Everything is served from this
    process (no CDN). Needs FastAPI and uvicorn: the package's `serve` extra.

    Example: adapterctl ui --port 8600 --open
    """
    api.ui(
        api.open_project(project),
        host=host,
        port=port,
        api_key=api_key,
        allow_actions=allow_actions,
        open_browser=open_browser,
    )
