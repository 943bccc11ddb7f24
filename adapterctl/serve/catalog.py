"""What the server answers to: model names → loaded versions.

`support` is the environment's current version of support; `support@<id>` pins a version,
loaded on first use. Versions that are loaded but not current (pinned ones, and the one an
environment just moved away from, which makes a rollback instant) sit in an LRU of bounded
size; evicting one retires its adapter, which the engine removes once its requests end.

A move is applied as: resolve → verify and load beside the others → switch the name in one
assignment. A version that fails to resolve, load or verify is refused: the old stays live
and the refusal is kept for /healthz.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

from adapterctl import versions
from adapterctl.core.errors import AdapterctlError, RefError
from adapterctl.core.project import Project
from adapterctl.core.refs import parse_ref
from adapterctl.serve.engine import Engine, Slot

log = logging.getLogger("adapterctl.serve")


class UnknownModel(AdapterctlError):
    """A request named a model this server does not serve."""


class AmbiguousModel(AdapterctlError):
    """A pinned model whose id prefix matches more than one version (the message lists them)."""


class RefusedModel(AdapterctlError):
    """A pinned version that failed to load: the same answer every time it is asked for."""


@dataclass
class Refusal:
    adapter: str
    version: str  # full id the environment points at
    reason: str
    at: str


class Catalog:
    def __init__(self, project: Project, engine: Engine, env: str, *, max_loaded: int = 4):
        self.project = project
        self.engine = engine
        self.env = env
        self.max_loaded = max_loaded
        self._lock = threading.RLock()
        self._current: dict[str, Slot] = {}  # adapter name → the slot the environment serves
        self._spare: OrderedDict[str, Slot] = OrderedDict()  # version id → loaded, not current (LRU)
        self.refusals: dict[str, Refusal] = {}  # adapter name → why its pointer's version is not served
        self._failed: dict[str, str] = {}  # full version id → why it could not be loaded (pins and pointers)
        self.swaps = 0

    # ── environment moves (called by the watcher) ─────────────────────────────

    def apply(self, pointers: dict[str, str]) -> None:
        """Serve exactly `pointers` (adapter name → version id); each change is load-then-switch."""
        for name, vid in sorted(pointers.items()):
            current = self._current.get(name)
            if current is not None and current.version == vid:
                self.refusals.pop(name, None)
                continue
            try:
                slot = self._obtain(name, vid)
            except Exception as exc:  # noqa: BLE001 — any failure keeps the old version live
                self._refuse(name, vid, exc)
                continue
            self._switch(name, slot)
        for name in set(self._current) - set(pointers):
            with self._lock:
                old = self._current.pop(name)
                self._park(old)
            log.info("%s no longer serves %s", self.env, name)

    def _switch(self, name: str, slot: Slot) -> None:
        with self._lock:
            old = self._current.get(name)
            self._spare.pop(slot.version, None)
            self._current[name] = slot  # the switch: new requests for `name` get `slot` from here on
            self.refusals.pop(name, None)
            self._failed.pop(slot.version, None)
            self.swaps += 1
            if old is not None and old is not slot:
                self._park(old)
        log.info("%s: %s now serves %s (was %s)", self.env, name, slot.ref, old.ref if old else "nothing")

    def _refuse(self, name: str, vid: str, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, AdapterctlError) else f"{type(exc).__name__}: {exc}"
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.refusals[name] = Refusal(name, vid, reason, at)
        self._failed[vid] = reason
        served = self._current.get(name)
        log.error(
            "refused %s@%s for %s (still serving %s): %s",
            name,
            vid[:12],
            self.env,
            served.ref if served else "nothing",
            reason,
        )

    def _park(self, slot: Slot) -> None:
        """Keep a no-longer-current slot loaded in the LRU; evict beyond max_loaded."""
        self._spare[slot.version] = slot
        self._spare.move_to_end(slot.version)
        while len(self._spare) > self.max_loaded:
            _, evicted = self._spare.popitem(last=False)
            self.engine.retire(evicted)

    def _obtain(self, name: str, vid: str) -> Slot:
        with self._lock:
            spare = self._spare.get(vid)
        if spare is not None and self.engine.acquire(spare):
            self.engine.release(spare)
            return spare
        version = versions.resolve(self.project, parse_ref(f"{name}@{vid}"), verify=False)
        if version.id != vid:
            raise RefError(f"{name}@{vid[:12]}: no card with exactly this id")
        return self.engine.add(version)  # verifies the hash before loading

    # ── requests ──────────────────────────────────────────────────────────────

    def acquire(self, model: str, *, load: bool = True) -> Slot | None:
        """The slot for `model`, counted as in use (call engine.release when done).

        A pinned model is resolved to one full id by the CLI's resolver first: an ambiguous
        prefix is refused (AmbiguousModel), never answered by whichever match is loaded.
        Returns None when the model is a pinned version not loaded yet and `load` is False
        (the caller then retries with load=True off the event loop).
        """
        ref = _parse_model(model)
        vid = None if ref.kind == "latest" else self._pinned_id(ref.name, ref.value, model)
        for _ in range(3):  # a slot can be retired between lookup and acquire: look again
            with self._lock:
                if vid is None:
                    slot = self._current.get(ref.name)
                    if slot is None:
                        raise UnknownModel(self._unknown(model))
                else:
                    slot = self._find_pinned(vid)
                    if slot is None and not load:
                        return None
            if slot is None:
                assert vid is not None  # a name without a current slot raised above
                return self._load_pinned(ref.name, vid, model)
            if self.engine.acquire(slot):
                return slot
        raise UnknownModel(f"model '{model}' is being unloaded; retry")

    def _pinned_id(self, name: str, prefix: str, model: str) -> str:
        """The one full id `name@prefix` names, through the same resolver as the CLI."""
        history: list = []
        try:
            history = versions.log(self.project, name)
            version = versions.resolve(self.project, parse_ref(f"{name}@{prefix}"), verify=False, history=history)
        except RefError as exc:
            if sum(v.id.startswith(prefix) for v in history) > 1:
                raise AmbiguousModel(f"model '{model}': {exc}") from None
            raise UnknownModel(f"model '{model}': {exc}") from None
        except AdapterctlError as exc:
            raise UnknownModel(f"model '{model}': {exc}") from None
        if version.id in self._failed:
            raise RefusedModel(f"model '{model}': {version.ref} was refused: {self._failed[version.id]}")
        return version.id

    def _find_pinned(self, vid: str) -> Slot | None:
        for slot in [*self._current.values(), *self._spare.values()]:
            if slot.version == vid:
                if vid in self._spare:
                    self._spare.move_to_end(vid)
                return slot
        return None

    def _load_pinned(self, name: str, vid: str, model: str) -> Slot:
        """Load a pinned version and return its slot, already acquired; a failure is kept, so
        every later request for it gets the same refusal."""
        version = versions.resolve(self.project, parse_ref(f"{name}@{vid}"), verify=False)
        try:
            slot = self.engine.add(version)
        except Exception as exc:  # noqa: BLE001 — any failed load is a refusal, remembered by full id
            reason = str(exc) if isinstance(exc, AdapterctlError) else f"{type(exc).__name__}: {exc}"
            self._failed[vid] = reason
            log.error("refused pinned %s: %s", version.ref, reason)
            raise RefusedModel(f"model '{model}': {version.ref} was refused: {reason}") from None
        if not self.engine.acquire(slot):  # counted before parking: an LRU of 0 must not drop it first
            raise UnknownModel(f"model '{model}' is being unloaded; retry")
        with self._lock:
            if all(s is not slot for s in self._current.values()):
                self._park(slot)
        return slot

    def _unknown(self, model: str) -> str:
        served = ", ".join(sorted(self._current)) or "nothing yet"
        return (
            f"model '{model}' is not served here (environment {self.env} serves: {served}; pin a version as NAME@<id>)"
        )

    # ── views ─────────────────────────────────────────────────────────────────

    def current(self) -> dict[str, Slot]:
        with self._lock:
            return dict(self._current)

    def spare(self) -> list[Slot]:
        with self._lock:
            return list(self._spare.values())


def _parse_model(model: str):
    try:
        ref = parse_ref(model)
    except AdapterctlError:
        raise UnknownModel(f"model '{model}': write NAME or NAME@<id>") from None
    if ref.kind not in ("latest", "id"):
        raise UnknownModel(
            f"model '{model}': pin a version by id (NAME@<id>); environments are chosen when the server starts"
        )
    return ref
