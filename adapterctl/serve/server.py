"""`adapterctl serve`: load the base once, the environment's versions beside it, watch the
pointers, and run the app under uvicorn until SIGTERM/SIGINT.

uvicorn's graceful shutdown is the drain: on SIGTERM it stops accepting connections and
waits for in-flight requests, streams included, to finish; only then does the lifespan end
stop the watcher and the engine. Answers still running at `drain_seconds` end with an error
event (drain.py) and are counted in the log, a little before uvicorn would cut them.

The port is bound before the model loads: a busy port is one line and exit 4, before
anything says "serving".
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from adapterctl.core import listening, ui
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.store import environments

API_KEY_ENV = "ADAPTERCTL_API_KEY"


@dataclass
class ServeOptions:
    env: str
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_loaded: int = 4  # versions kept loaded besides the current ones (pins, rollback targets)
    max_batch: int = 32
    max_body: int = 1 << 20
    drain_seconds: float = 30.0
    poll_seconds: float = 0.2


def build_state(project: Project, opts: ServeOptions):
    """Engine, catalog and watcher with the environment's current versions loaded."""
    from adapterctl.serve.app import ServerState
    from adapterctl.serve.catalog import Catalog
    from adapterctl.serve.startup import load_engine
    from adapterctl.serve.watcher import EnvironmentWatcher

    wanted = environments.served(project, opts.env)
    if not wanted:
        raise UsageError(
            f"environment '{opts.env}' serves no adapter yet: deploy one first "
            f"(adapterctl deploy NAME --env {opts.env})"
        )
    engine = load_engine(project, max_batch=opts.max_batch)
    catalog = Catalog(project, engine, opts.env, max_loaded=opts.max_loaded)
    watcher = EnvironmentWatcher(project, catalog, interval=opts.poll_seconds)
    watcher.check()
    if not catalog.current():
        reasons = "; ".join(f"{r.adapter}@{r.version[:12]}: {r.reason}" for r in catalog.refusals.values())
        raise UsageError(f"environment '{opts.env}': no version could be loaded ({reasons})")
    return ServerState(catalog, engine, watcher, api_key=opts.api_key, max_body=opts.max_body)


def run(project: Project, opts: ServeOptions) -> None:
    from adapterctl.serve import require_extra

    require_extra()
    import uvicorn

    from adapterctl.serve.app import create_app

    ui.server_log("adapterctl.serve")
    opts.api_key = _api_key(opts.api_key)
    sock = listening.bind(opts.host, opts.port)
    if opts.host not in ("127.0.0.1", "localhost", "::1") and not opts.api_key:
        ui.warn(f"binding {opts.host} without --api-key: anyone who can reach this port can use the model")
    try:
        state = build_state(project, opts)
    except BaseException:  # Ctrl-C during the load too: free the port, then re-raise
        sock.close()
        raise
    app = create_app(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        state.watcher.start()
        state.engine.start()
        yield
        state.watcher.stop()
        state.engine.stop()

    app.router.lifespan_context = lifespan
    served = ", ".join(f"{s.ref}" for s in state.catalog.current().values())
    ui.info(f"serving {opts.env} ({served}) on http://{opts.host}:{opts.port}  (Ctrl-C or SIGTERM drains and stops)")
    config = uvicorn.Config(
        app,
        host=opts.host,
        port=opts.port,
        log_level="warning",
        timeout_graceful_shutdown=int(opts.drain_seconds) + 3,  # the drain ends answers first
        access_log=False,
    )
    listening.run_until_signal(config, sock, lambda: state.drain.begin(opts.drain_seconds))
    if state.drain.cut:
        ui.warn(
            f"server stopped: {state.drain.cut} answer(s) still running after the drain limit of "
            f"{opts.drain_seconds:g} s were ended with an error event"
        )
    else:
        ui.info("server stopped: in-flight requests drained")


def _api_key(given: str | None) -> str | None:
    """--api-key, else $ADAPTERCTL_API_KEY; an empty key would silently mean no auth: refused."""
    key = given if given is not None else os.environ.get(API_KEY_ENV)
    if key is not None and not key.strip():
        source = "--api-key" if given is not None else f"${API_KEY_ENV}"
        raise UsageError(
            f"{source} is empty: give a real key, or unset {API_KEY_ENV} to serve on 127.0.0.1 without one"
        )
    return key
