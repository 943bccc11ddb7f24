"""What the pages are drawn from, as one fingerprint, and answers remembered per fingerprint.

The pointers' part is `environments.fingerprint`, the one `serve`'s watcher polls; cards,
eval results, the manifest and git's HEAD are added by size and mtime (writers replace files
atomically, so either changes when the content does). A browser polls /live with the
stamp its page was drawn at and reloads when the stamp moves.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from adapterctl.core.project import Project
from adapterctl.store import environments

POLL_SECONDS = 0.2  # as serve's watcher: fingerprints younger than this are reused


def _stat_line(path) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        return b""
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()


def fingerprint(project: Project) -> str:
    digest = hashlib.sha256(environments.fingerprint(project).encode())
    watched = [project.manifest_path, project.root / ".git" / "HEAD"]
    if project.adapters_dir.is_dir():
        watched += sorted(project.adapters_dir.glob("*/*.toml"))
        watched += sorted(project.adapters_dir.glob("*/*.jsonl"))
    head = project.root / ".git" / "HEAD"
    if head.is_file():  # the branch HEAD names moves on every commit
        ref = head.read_text(encoding="utf-8", errors="replace").strip()
        if ref.startswith("ref: "):
            watched.append(project.root / ".git" / ref[5:])
    state = project.state_dir / "data-check"
    if state.is_dir():
        watched += sorted(state.glob("*.json"))
    for path in watched:
        digest.update(_stat_line(path))
    return digest.hexdigest()[:16]


class Live:
    """The current stamp (re-read at most every POLL_SECONDS) and a memo of page data for it."""

    def __init__(self, project: Project):
        self.project = project
        self._lock = threading.Lock()
        self._stamp = ""
        self._read_at = 0.0
        self._memo: dict[Any, Any] = {}
        self._computing: dict[Any, threading.Lock] = {}

    def stamp(self) -> str:
        with self._lock:
            if time.monotonic() - self._read_at >= POLL_SECONDS:
                stamp = fingerprint(self.project)
                if stamp != self._stamp:
                    self._stamp, self._memo = stamp, {}
                self._read_at = time.monotonic()
            return self._stamp

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """compute(), remembered until the stamp moves (errors are not remembered). Two
        requests for the same key compute it once: the second waits for the first."""
        self.stamp()
        with self._lock:
            if key in self._memo:
                return self._memo[key]
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            with self._lock:
                if key in self._memo:
                    return self._memo[key]
            value = compute()
            with self._lock:
                self._memo[key] = value
                self._computing.pop(key, None)
        return value

    def warm(self, jobs: list[tuple[Any, Callable[[], Any]]]) -> threading.Thread:
        """Compute slow answers in the background (a first page view then waits less, or not at all)."""

        def run() -> None:
            for key, compute in jobs:
                try:
                    self.memo(key, compute)
                except Exception:  # noqa: BLE001 - the page that needs it will show the error
                    pass

        thread = threading.Thread(target=run, name="adapterctl-ui-warm", daemon=True)
        thread.start()
        return thread
