"""The drain at shutdown: answers still running when the drain limit comes get a final
error (an SSE error event, or a 503) instead of a connection cut mid-answer, and are counted.

uvicorn's own graceful shutdown waits a little longer than this limit, so every request
has said why it ended before uvicorn cancels what is left.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

CUT_MESSAGE = "the server is shutting down and this answer did not finish within the drain limit"


class Drain:
    def __init__(self) -> None:
        self.deadline: float | None = None
        self.cut = 0  # answers ended by the drain limit
        self._lock = threading.Lock()

    def begin(self, seconds: float) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + seconds

    async def next_event(self, events: asyncio.Queue) -> tuple[Any, ...]:
        """The job's next event, or ("cut", message) once the drain limit has passed."""
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                with self._lock:
                    self.cut += 1
                return ("cut", CUT_MESSAGE)
            # Poll while not draining, so a drain that begins during a long answer is noticed.
            wait = 0.5 if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            try:
                return await asyncio.wait_for(events.get(), wait)
            except asyncio.TimeoutError:
                continue
