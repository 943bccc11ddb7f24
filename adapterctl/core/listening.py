"""Listening for HTTP, shared by `serve` and `ui`: the port is bound before anything slow
starts, so a busy port is one clear line (exit 4), and uvicorn runs until SIGINT/SIGTERM,
which end it cleanly (exit 0) after in-flight requests finish."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from adapterctl.core.errors import StorageError, UsageError


def bind(host: str, port: int) -> Any:
    """The listening socket for host:port (socket.socket), bound now."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not busy
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StorageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server on this port? pick one with --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


def run_until_signal(config: Any, sock: Any, on_signal: Callable[[], None] | None = None) -> None:
    """Run uvicorn (`config`: a uvicorn.Config) on `sock`. uvicorn re-raises SIGINT/SIGTERM
    after its graceful shutdown, so a server stopped on request would die by the signal; here
    it returns. `on_signal` runs first (serve starts its drain there)."""
    import signal

    import uvicorn

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if on_signal is not None:
                on_signal()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    StoppingServer(config).run(sockets=[sock])
