"""Serving adapters: the built-in OpenAI-compatible server (app, engine, catalog, watcher)
and the bridge that drives a vLLM server's runtime LoRA API (vllm.py).

The HTTP server needs the optional `serve` extra (FastAPI, uvicorn); `require_extra` says
so in one line instead of an ImportError. The engine and the vLLM bridge need neither.
"""

from __future__ import annotations

from adapterctl.errors import UsageError

EXTRA_MODULES = ("fastapi", "uvicorn", "prometheus_client")


def require_extra() -> None:
    import importlib.util

    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"adapterctl serve needs {' and '.join(missing)}: install the extra with `pip install 'adapterctl[serve]'`"
        )
