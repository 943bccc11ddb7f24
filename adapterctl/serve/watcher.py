"""Watch the environment pointers and hand every move to the catalog.

The pointers are only ever read through `adapterctl.store.environments`, whose files and layout
are its own business (one file per pointer today, a single adapterctl.lock before): every
`interval` seconds the watcher asks it for a fingerprint of everything `load` reads, and
re-reads the pointers when that changes. Writers replace files atomically, so a read never
sees half a move. Refused versions are retried every `retry` seconds, in case their weights
were restored without the pointer moving.
"""

from __future__ import annotations

import logging
import threading
import time

from adapterctl.core.project import Project
from adapterctl.serve.catalog import Catalog
from adapterctl.store import environments

log = logging.getLogger("adapterctl.serve")


class EnvironmentWatcher:
    """Follows environments/ for one served environment and applies each move to the catalog."""

    def __init__(self, project: Project, catalog: Catalog, *, interval: float = 0.2, retry: float = 30.0):
        self.project = project
        self.catalog = catalog
        self.interval = interval
        self.retry = retry
        self._stamp: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def check(self) -> bool:
        """Apply the pointers if they changed since the last look; True when they did."""
        try:
            stamp = environments.fingerprint(self.project)
        except OSError as exc:  # a file vanished between listing and reading it: look again next time
            log.debug("environments changing under the watcher: %s", exc)
            return False
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        self.sync()
        return True

    def sync(self) -> None:
        try:
            wanted = environments.served(self.project, self.catalog.env)
        except Exception as exc:  # noqa: BLE001 - a half-merged pointer file: keep serving, say why
            self.last_error = str(exc)
            log.error("cannot read environments: %s (still serving what was loaded)", exc)
            return
        self.last_error = None
        self.catalog.apply(wanted)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="adapterctl-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        last_retry = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                if not self.check() and self.catalog.refusals and time.monotonic() - last_retry > self.retry:
                    last_retry = time.monotonic()
                    self.sync()
            except Exception:  # the watcher must outlive any one bad move
                log.exception("applying an environment move failed")
