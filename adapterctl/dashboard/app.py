"""The dashboard's HTTP app (imported only by `adapterctl ui`: FastAPI is the serve extra): pages, the live stamp, the optional actions, and error pages.

Every page is server-rendered from pages.py / detail.py. A key (--api-key) is accepted as
`Authorization: Bearer KEY`, as `?key=KEY` (which sets a same-site cookie and redirects), or
as that cookie. Actions (--allow-actions) are POSTs carrying a custom header, which a page
on another site cannot send without the browser asking this server first (and it never says yes).
"""

from __future__ import annotations

import functools
import hmac
import logging
import shlex
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from adapterctl.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_FAILED,
    EXIT_INTEGRITY,
    EXIT_STORAGE,
    AdapterctlError,
    RefError,
    UsageError,
)
from adapterctl.core.project import Project
from adapterctl.core.refs import short
from adapterctl.dashboard import detail, pages, render
from adapterctl.dashboard.live import Live
from adapterctl.store import gitio
from adapterctl.versions.registry import Registry

log = logging.getLogger("adapterctl.dashboard")
COOKIE = "adapterctl_ui_key"
ACTION_HEADER = "x-adapterctl-action"
STATUS = {EXIT_CHECK_FAILED: 409, EXIT_BAD_INPUT: 400, EXIT_INTEGRITY: 422, EXIT_STORAGE: 503}


def build(project: Project, api: Any, *, api_key: str | None = None, allow_actions: bool = False):
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    live = Live(project)
    app.state.live = live
    # every version's metric intervals: bootstrapped once per results file, then read from the cache
    names = Registry(project).names()
    live.warm([(("intervals", n), functools.partial(api.metric_intervals, project, n)) for n in names])

    def authorised(request: Request) -> bool:
        if not api_key:
            return True
        header = request.headers.get("authorization", "")
        offered = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE, "")
        return hmac.compare_digest(offered.encode(), api_key.encode())

    @app.middleware("http")
    async def key_check(request: Request, call_next):
        if api_key and "key" in request.query_params:
            if not hmac.compare_digest(request.query_params["key"].encode(), api_key.encode()):
                return _error_response(project, 401, "wrong key", html=True)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "key"]
            target = request.url.path + ("?" + "&".join(f"{k}={v}" for k, v in rest) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, api_key, httponly=True, samesite="strict")
            return response
        if not authorised(request):
            wants_html = "text/html" in request.headers.get("accept", "")
            return _error_response(
                project, 401, "this dashboard needs its key: open the URL it printed (…?key=KEY)", html=wants_html
            )
        try:
            return await call_next(request)
        except Exception as exc:  # a bug, not a user mistake: one line on the page, the stack in the server's log
            log.exception("dashboard page %s failed", request.url.path)
            return _error_response(project, 500, f"{type(exc).__name__}: {exc}", html=True)

    def html(template: str, request: Request, **context: Any) -> HTMLResponse:
        stamp = live.stamp()
        nav = live.memo("nav", lambda: _nav(project))
        body = render.page(template, stamp=stamp, nav=nav, actions=allow_actions, path=request.url.path, **context)
        return HTMLResponse(body)

    @app.exception_handler(AdapterctlError)
    async def adapterctl_error(request: Request, exc: AdapterctlError):
        status = 404 if isinstance(exc, RefError) else STATUS.get(exc.exit_code, 409)
        wants_html = not request.url.path.startswith(("/actions/", "/live"))
        return _error_response(project, status, str(exc), html=wants_html)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error_response(project, exc.status_code, str(exc.detail), html=True)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request):
        return html("overview.html", request, **live.memo("overview", lambda: pages.overview(project, api)))

    @app.get("/adapter/{name}", response_class=HTMLResponse)
    def adapter(request: Request, name: str, curves: str = ""):
        chosen = [c for c in curves.split(",") if c] or None
        key = ("adapter", name, curves)
        return html("adapter.html", request, **live.memo(key, lambda: pages.adapter(project, api, live, name, chosen)))

    @app.get("/version/{ref:path}", response_class=HTMLResponse)
    def version(request: Request, ref: str, q: str = "", sort: str = "", desc: int = 1, page: int = 1):
        data = detail.version(project, api, live, ref, query=q, sort=sort, descending=bool(desc), page=page)
        return html("version.html", request, **data)

    @app.get("/compare", response_class=HTMLResponse)
    def compare(request: Request, a: str = "", b: str = ""):
        if not a or not b:
            raise UsageError("compare needs two versions: /compare?a=NAME@<id>&b=NAME@<id>")
        data = live.memo(("compare", a, b), lambda: detail.compare(project, api, live, a, b))
        return html("compare.html", request, **data)

    @app.get("/env/{env}", response_class=HTMLResponse)
    def environment(request: Request, env: str):
        data = live.memo(("env", env), lambda: pages.environment(project, api, env))
        return html("environment.html", request, **data)

    @app.get("/report", response_class=HTMLResponse)
    def report(request: Request, base: str = "HEAD", env: str = "prod"):
        return html("report.html", request, **detail.report(project, api, live, base, env))

    @app.get("/live")
    def stamp():
        return {"stamp": live.stamp()}

    @app.post("/actions/{action}")
    async def act(request: Request, action: str):
        if not allow_actions:
            return JSONResponse({"error": "read-only: start the dashboard with --allow-actions"}, status_code=403)
        if request.headers.get(ACTION_HEADER) != "1":
            return JSONResponse({"error": f"actions need the {ACTION_HEADER} header"}, status_code=403)
        body = await request.json()
        return await run_in_threadpool(_act, project, api, action, body)

    app.mount("/static", StaticFiles(directory=render.HERE / "static"), name="static")
    return app


def _act(project: Project, api: Any, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run deploy or rollback exactly as the CLI does; answer with the command that does the same."""
    env = str(body.get("env", ""))
    message = str(body.get("message", "") or "")
    if action == "deploy":
        ref = str(body.get("ref", ""))
        command = ["adapterctl", "deploy", ref, "--env", env]
        result = api.deploy(project, ref, env, message=message)
    elif action == "rollback":
        name, to = str(body.get("name", "")), body.get("to") or None
        command = ["adapterctl", "rollback", name, "--env", env] + (["--to", str(to)] if to else [])
        result = api.rollback(project, name, env, to=to, message=message)
    else:
        raise UsageError(f"unknown action {action!r}: deploy or rollback")
    if message:
        command += ["-m", message]
    before = f"{result.name}@{short(result.previous)}" if result.previous else "nothing"
    said = f"{env}: {before} → {result.name}@{short(result.version)}" if result.moved else f"{env} already served it"
    return {"ok": True, "command": shlex.join(command), "message": said, "version": result.version}


def _nav(project: Project) -> dict[str, list[str]]:
    registry = Registry(project)
    return {"adapters": registry.names(), "envs": sorted(registry.envs), "project": [project.root.name]}


def _error_response(project: Project, status: int, message: str, *, html: bool):
    if not html:
        return JSONResponse({"error": message}, status_code=status)
    files = []
    for rel in render.files_named(message, project.root)[:3]:
        history = gitio.file_history(project.root, rel) if (project.root / rel).exists() else []
        last = history[-1] if history else None
        files.append({"path": rel, "commit": last["commit"] if last else "", "author": last["author"] if last else ""})
    head = gitio.describe_head(project.root)
    body = render.page(
        "error.html",
        status=status,
        message=message,
        files=files,
        head=head[:8] + head[40:],
        root=Path(project.root).name,
    )
    return HTMLResponse(body, status_code=status)
