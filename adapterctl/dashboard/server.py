"""`adapterctl ui`: check where it may listen, then run the dashboard under uvicorn.

Binding to anything but 127.0.0.1 puts the project's history (and, with --allow-actions,
its deploy button) on the network: that needs a key. uvicorn handles SIGINT/SIGTERM by
finishing in-flight requests and exiting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from adapterctl.core import listening, ui
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project

API_KEY_ENV = "ADAPTERCTL_API_KEY"  # the same variable `serve` reads
LOCAL = "127.0.0.1"


@dataclass
class UiOptions:
    host: str = LOCAL
    port: int = 8600
    api_key: str | None = None
    allow_actions: bool = False
    open_browser: bool = False


def check_exposure(options: UiOptions) -> str | None:
    """The key to require, or None on 127.0.0.1 without one; refuses other hosts without a key."""
    key = options.api_key or os.environ.get(API_KEY_ENV) or None
    if options.host != LOCAL and not key:
        raise UsageError(
            f"--host {options.host}: only {LOCAL} may be used without a key; pass --api-key KEY "
            f"(or set ${API_KEY_ENV}) so others on the network need it"
        )
    return key


def run(project: Project, options: UiOptions, api: Any) -> None:
    try:
        import uvicorn

        from adapterctl.dashboard.app import build
    except ImportError as exc:
        raise UsageError(
            f"adapterctl ui needs the web stack ({exc.name} is not installed): pip install 'adapterctl[serve]'"
        ) from None
    key = check_exposure(options)
    sock = listening.bind(options.host, options.port)
    ui.server_log("adapterctl.dashboard")  # unexpected page failures: one line on the page, the stack here
    try:
        app = build(project, api, api_key=key, allow_actions=options.allow_actions)
    except BaseException:  # Ctrl-C while building too: free the port, then re-raise
        sock.close()
        raise
    url = f"http://{options.host}:{options.port}/" + (f"?key={key}" if key else "")
    mode = "deploy and rollback allowed" if options.allow_actions else "read-only"
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning", access_log=False)
    ui.info(f"adapterctl ui: {url} ({mode}; Ctrl-C stops it)")
    if options.open_browser:
        import webbrowser

        webbrowser.open(url)
    listening.run_until_signal(config, sock)
    ui.info("adapterctl ui stopped")
