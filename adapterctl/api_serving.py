"""Part of the Python API (re-exported by `adapterctl.api`): serving a version over HTTP,
one-shot generation, checking a live endpoint, driving a vLLM fleet, and the dashboard.
Nothing here imports torch until a model loads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project

if TYPE_CHECKING:
    from adapterctl.evaluation.results import EvalResult
    from adapterctl.serve.oneshot import GenerateResult
    from adapterctl.serve.verify import VerifyReport
    from adapterctl.serve.vllm import SyncReport


# ── serving: serve, generate, sync (see serve/) ──
#
# The HTTP server (serve/server.py) needs the `serve` extra; generate and the vLLM bridge
# (serve/vllm.py) do not. Nothing here imports torch until a model loads.


def serve(
    project: Project,
    env: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    max_loaded: int = 4,
    max_batch: int = 32,
    drain_seconds: float = 30.0,
) -> None:
    """Serve environment ENV over HTTP until SIGTERM/SIGINT (which drain in-flight requests)."""
    from adapterctl.serve import server

    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: use 1-65535")
    if max_loaded < 0 or max_batch < 1:
        raise UsageError("--max-loaded must be 0 or more and --max-batch at least 1")
    if drain_seconds < 0:
        raise UsageError(f"--drain-seconds {drain_seconds:g}: use 0 or more")
    opts = server.ServeOptions(env, host, port, api_key, max_loaded, max_batch, drain_seconds=drain_seconds)
    server.run(project, opts)


def generate(
    project: Project,
    ref: str,
    prompt: str,
    *,
    max_tokens: int = 128,
    temperature: float = 0.0,
    raw: bool = False,
    system: str | None = None,
    on_text: Callable[[str], object] | None = None,
) -> GenerateResult:
    """One answer from version REF (verified), handing each new piece of text to `on_text`.
    The prompt goes through the version's own prompt format unless `raw`."""
    from adapterctl.serve import oneshot

    return oneshot.GenerateResult(
        **oneshot.generate(
            project,
            ref,
            prompt,
            max_tokens=max_tokens,
            temperature=temperature,
            raw=raw,
            system=system,
            on_text=on_text,
        )
    )


def verify(
    project: Project,
    env: str,
    url: str,
    *,
    rows: int | None = 20,
    adapters: list[str] | None = None,
    api_key: str | None = None,
) -> VerifyReport:
    """Replay the first ROWS recorded eval rows (None: all) per adapter of ENV against the OpenAI endpoint URL; the
    report says whether it serves ENV's versions and answers as they were evaluated."""
    from adapterctl.serve import verify as verify_mod

    return verify_mod.verify(project, env, url, rows=rows, adapters=adapters, api_key=api_key)


def sync(project: Project, env: str) -> SyncReport:
    """Make ENV's vLLM server serve what ENV points at: load new versions, unload replaced ones
    whose grace period has passed. The report says whether the server now matches."""
    from adapterctl.ops.sync import sync as sync_op

    return sync_op(project, env)


# ── the dashboard: ui (see dashboard/) ──


def eval_results(project: Project, ref: str) -> EvalResult | None:
    """The committed per-row eval results of version REF's most recent eval (an
    evaluation.results.EvalResult), or None when it has none on this branch."""
    from adapterctl.report.source import Source
    from adapterctl.versions.registry import Registry

    return Source(project).result(Registry(project).resolve(ref).card)


def metric_intervals(project: Project, name: str) -> dict[str, dict[str, dict[str, float]]]:
    """version id → metric → {value, low, high}: every version of NAME with its metrics' 95%
    bootstrap intervals over its committed eval rows (remembered per results file)."""
    from adapterctl.evaluation import intervals
    from adapterctl.store import fingerprints
    from adapterctl.versions.registry import Registry

    cache = fingerprints.FileCache(project)
    try:
        return {v.id: intervals.of_card(project, v.card, cache) for v in Registry(project).log(name)}
    finally:
        cache.save()


def ui(
    project: Project,
    *,
    host: str = "127.0.0.1",
    port: int = 8600,
    api_key: str | None = None,
    allow_actions: bool = False,
    open_browser: bool = False,
) -> None:
    """Serve the dashboard until SIGTERM/SIGINT. It reads through these same functions; with
    `allow_actions` its deploy and rollback buttons call api.deploy and api.rollback."""
    import importlib

    from adapterctl.dashboard import server

    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: use 1-65535")
    options = server.UiOptions(host, port, api_key, allow_actions, open_browser)
    server.run(project, options, importlib.import_module("adapterctl.api"))
