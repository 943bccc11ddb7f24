"""Serving adapters: the built-in OpenAI-compatible server (app, engine, catalog, watcher),
`generate` on the same engine (oneshot.py), the bridge that drives a vLLM server's runtime
LoRA API (vllm.py), and `verify` against a live endpoint (verify.py).

The HTTP server needs the optional `serve` extra (FastAPI, uvicorn, prometheus_client);
`require_extra` says so in one line instead of an ImportError. The engine, `generate`, the
vLLM bridge and `verify` need none of them.
"""

from __future__ import annotations

from adapterctl.core.errors import UsageError

EXTRA_MODULES = ("fastapi", "uvicorn", "prometheus_client")


def require_extra() -> None:
    import importlib.util

    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"adapterctl serve needs {' and '.join(missing)}: install the extra with `pip install 'adapterctl[serve]'`"
        )
