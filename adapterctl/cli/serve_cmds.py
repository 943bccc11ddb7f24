"""serve, generate, sync: putting versions in front of traffic."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui
from adapterctl.core.errors import CheckFailed, UsageError


@app.command()
def serve(
    env: str = typer.Option(..., "--env", "-e", help="Environment to serve, e.g. prod; its moves are picked up live."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    api_key: str = typer.Option(
        None,
        "--api-key",
        help="Require `Authorization: Bearer KEY` (default: $ADAPTERCTL_API_KEY if set).",
        show_default=False,
    ),
    max_loaded: int = typer.Option(
        4,
        "--max-loaded",
        help="Versions kept loaded besides the current ones (pinned NAME@<id> models and rollback targets).",
    ),
    max_batch: int = typer.Option(32, "--max-batch", help="Most concurrent requests generated as one batch."),
    drain_seconds: float = typer.Option(
        30.0, "--drain-seconds", help="On SIGTERM, how long running answers may finish before they end with an error."
    ),
    project: Path = PROJECT,
) -> None:
    """Serve an environment's adapters over an OpenAI-compatible HTTP API, on one base model.

    `model: "NAME"` is the environment's current version; `model: "NAME@<id>"` pins one.
    Every answer carries the version in the X-Adapter-Version header. deploy and rollback
    reach the running server within a second; SIGTERM drains in-flight requests and exits.
    Needs FastAPI and uvicorn: the package's `serve` extra.

    Example: adapterctl serve --env prod --port 8000
    """
    api.serve(
        api.open_project(project),
        env,
        host=host,
        port=port,
        api_key=api_key,
        max_loaded=max_loaded,
        max_batch=max_batch,
        drain_seconds=drain_seconds,
    )


@app.command()
def generate(
    ref: str = typer.Argument(..., help="Version: NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    prompt: str = typer.Argument(..., help="The user's message; it fills the version's prompt format (see --raw)."),
    max_tokens: int = typer.Option(128, "--max-tokens", min=1, help="Most tokens to generate."),
    temperature: float = typer.Option(0.0, "--temperature", "-t", help="0 is greedy; up to 2."),
    system: str = typer.Option(
        None,
        "--system",
        help="A system message: fills the template's instruction field (or the chat template's system turn).",
        show_default=False,
    ),
    raw: bool = typer.Option(False, "--raw", help="Send PROMPT verbatim, without the version's prompt format."),
    chat: bool = typer.Option(
        False, "--chat", help="Same as the default: PROMPT as a user message in the version's own format."
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Print one answer from a version, streaming tokens as they are generated.

    PROMPT goes through the prompt format the version was trained and evaluated with (its
    card's [prompt]): the template's input field, or the chat template it recorded, just
    as /v1/chat/completions renders it. --raw sends PROMPT to the model as given.

    Example: adapterctl generate support@prod "How do I reset my password?" --system "Answer the customer."
    """
    if raw and chat:
        raise UsageError("--chat renders PROMPT through the version's format; --raw sends it verbatim: use one")

    def stream(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    result = api.generate(
        api.open_project(project),
        ref,
        prompt,
        max_tokens=max_tokens,
        temperature=temperature,
        raw=raw,
        system=system,
        on_text=None if as_json else stream,
    )

    def render(r: Any) -> None:
        sys.stdout.write("\n")
        ui.info(f"{r.ref}: {r.usage['completion_tokens']} tokens, finished: {r.finish_reason}")

    ui.emit(result, as_json, render)


@app.command()
def verify(
    env: str = typer.Option(..., "--env", "-e", help="Environment whose versions the endpoint should serve."),
    url: str = typer.Option(..., "--url", help="The endpoint's OpenAI base URL, e.g. http://127.0.0.1:8000/v1."),
    limit: int = typer.Option(
        20, "--limit", "-n", min=0, help="Replay the first N recorded eval rows per adapter (0: no limit)."
    ),
    adapter: list[str] = typer.Option(
        None,
        "--adapter",
        "-a",
        help="Check only this adapter (repeatable; default: every adapter ENV serves).",
        show_default=False,
    ),
    api_key: str = typer.Option(
        None, "--api-key", help="Bearer key for the endpoint (default: $ADAPTERCTL_API_KEY if set).", show_default=False
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Check a live endpoint: it serves ENV's versions and answers as they were evaluated.

    Replays recorded eval rows (from the results committed beside each card) as chat
    messages, greedy, with eval's max_new_tokens, and compares every answer with the output
    eval recorded, byte for byte. adapterctl serve names the answering version in its
    X-Adapter-Version header; a vLLM environment is asked for NAME@<id12>, the name
    `sync` loads each version under. Exit 1 with the differing rows.

    Example: adapterctl verify --env prod --url http://127.0.0.1:8000/v1 --limit 50
    """
    import os

    report = api.verify(
        api.open_project(project),
        env,
        url,
        rows=limit or None,
        adapters=adapter or None,
        api_key=api_key or os.environ.get("ADAPTERCTL_API_KEY") or None,
    )
    ui.emit(report, as_json, render_verify)
    if not report.passed:
        failed = [a.name for a in report.adapters if not a.passed]
        raise CheckFailed(f"{report.url} does not answer as {env} was evaluated: {', '.join(failed)}")


def render_verify(report: Any) -> None:
    for a in report.adapters:
        label = f"{a.name}@{a.version[:12]} as {a.model}"
        if a.passed:
            ui.success(f"{label}: {a.matched}/{a.rows} answers equal the recorded eval outputs")
            continue
        if a.problem:
            ui.info(f"{label}: {a.problem}")
        if a.differing:
            ui.info(f"{label}: {len(a.differing)} of {a.rows} answers differ from {a.results}")
            for d in a.differing:
                asked = d.messages[-1]["content"] if d.messages else ""
                got = d.error or repr(d.got)
                ui.info(f"  row {d.hash}: asked {asked!r}\n    recorded {d.expected!r}\n    served   {got}")


@app.command()
def sync(
    env: str = typer.Option(
        ..., "--env", "-e", help="The environment to sync; its vLLM server is declared in [environments.ENV]."
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Make an environment's vLLM server serve what the environment points at.

    Loads the pointed-at versions under versioned names (NAME@<id12>), switches the stable
    name to the new version after a successful load, and unloads replaced versions after the grace period.
    deploy and rollback do this by themselves; run sync to retry after a failure, or to
    unload once the grace period has passed. Exit 1 while the server does not match.

    Example: adapterctl sync --env prod
    """
    report = api.sync(api.open_project(project), env)
    ui.emit(report, as_json, render_sync)
    check_synced(report, moved=False)


def render_sync(report: Any) -> None:
    for a in report.adapters:
        if a.synced:
            ui.success(f"{report.server}: {a.name} → {a.served_name}" + (" (loaded)" if a.loaded else ""))
    for name in report.unloaded:
        ui.info(f"{report.server}: unloaded {name}")
    if report.pending_unload:
        ui.info(
            f"{report.server}: still loaded for the grace period: {', '.join(report.pending_unload)} "
            "(a later `adapterctl sync` unloads them)"
        )


def check_synced(report: Any, *, moved: bool) -> None:
    if report.synced:
        return
    if moved:
        render_sync(report)
    prefix = f"the pointer moved, but {report.env} is NOT synced: " if moved else f"{report.env} is not synced: "
    raise CheckFailed(
        f"{prefix}{report.server} keeps serving the previous version ({report.problem()}); "
        f"fix it and run `adapterctl sync --env {report.env}`"
    )
