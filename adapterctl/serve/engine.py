"""The generation engine: one base model, many named LoRA adapters, batched per-request.

Every request names its own adapter. Requests that wait together are run as one batch
through PEFT's mixed-batch `adapter_names`, so two requests for different versions never
race on a global `set_adapter`. One worker thread owns the model: it runs the batches and
removes retired adapters between them; loading an adapter takes the same model lock, so a
new version is added beside the running ones without disturbing a batch in flight.

No web framework here: `adapterctl generate` and the HTTP server both drive this class.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from adapterctl import versions
from adapterctl.core.errors import AdapterctlError, IntegrityError
from adapterctl.serve.batch import discard_adapter, generate_batch, load_adapter, token_logprob
from adapterctl.versions import Version

log = logging.getLogger("adapterctl.serve")

_WAKE = object()  # queued to wake the worker for a model change
Sink = Callable[
    [tuple], object
]  # receives ("delta", text) …, then ("done", finish_reason, usage) or ("error", message)


@dataclass(eq=False)
class Slot:
    """One loaded version: the PEFT adapter name it lives under, and who is using it."""

    name: str  # adapter name (support)
    version: str  # full version id
    adapter: str  # the PEFT adapter name inside the model
    inflight: int = 0
    retired: bool = False  # remove once nothing uses it

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version[:12]}"


@dataclass(eq=False)
class Job:
    """One generation request as the worker sees it."""

    slot: Slot
    prompt_ids: list[int]
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    sink: Sink = print
    logprobs: int | None = None  # None: no logprobs; N: each token's logprob and the N likeliest
    echo_logprobs: bool = False  # also the prompt tokens' logprobs (completions with echo)
    seed: int | None = None  # a sampled job with a seed runs alone, from its own RNG state
    cancelled: bool = False  # set by the caller when its client goes away
    tokens: list[int] = field(default_factory=list)
    token_logprobs: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # per token in `tokens`
    prompt_logprobs: list[tuple[float, dict[int, float]] | None] = field(default_factory=list)
    sent: str = ""  # text already handed to the sink
    done: bool = False

    @property
    def batch_key(self) -> tuple:
        """Requests that share sampling settings can share one `generate` call; a seeded
        sampled request runs alone so that its seed alone decides its answer."""
        if self.temperature == 0:
            return (0.0, 1.0)
        return (self.temperature, self.top_p) if self.seed is None else ("seed", id(self))


class LoadRefused(IntegrityError):
    """A version whose load failed: nothing of it stays in the model."""


class Engine:
    def __init__(self, model: Any, tokenizer: Any, *, max_batch: int = 32):
        self.base = model  # the transformers model; never reloaded
        self.model: Any = None  # the PeftModel, created with the first adapter
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.admission: versions.BaseInUse | None = None  # the base, fingerprinted once (load_engine)
        self.base_loads = 1
        self.precision: dict[str, str] = {"device": str(getattr(model, "device", "cpu"))}
        self.context_length = _context_length(model, tokenizer)
        self.eos_ids = _as_list(tokenizer.eos_token_id)
        self._model_lock = threading.RLock()  # re-entered when a load runs between two decode steps
        # Fast tokenizers are not safe to share between threads ("Already borrowed"):
        # request threads encode while the worker decodes.
        self._tokenizer_lock = threading.Lock()
        self._slots_lock = threading.Lock()
        self._slots: dict[str, Slot] = {}  # PEFT adapter name → slot
        self._queue: queue.Queue[Any] = queue.Queue()  # Job, _WAKE, or None to stop
        self._tasks: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()

    # ── adapters ──────────────────────────────────────────────────────────────

    def add(self, version: Version) -> Slot:
        """The one way a version enters the model: checked, loaded whole beside the others, or
        refused leaving nothing behind (LoadRefused; the versions already loaded serve on).

        Checks that read files run here, off the worker; the load itself runs on the worker.
        """
        adapter = f"v{version.id}"  # the full id: two versions never share an adapter
        with self._slots_lock:
            existing = self._slots.get(adapter)
            if existing is not None:
                existing.retired = False
                return existing
        try:
            if self.admission is not None:  # weights match the id, same base as the card, sound structure
                self.admission.admit(version)
            else:
                versions.check_weights(version)
            self._on_worker(lambda: self._load(version, adapter))
        except AdapterctlError:
            raise
        except Exception as exc:  # any failure of a load is a refusal, never a half-built adapter
            raise LoadRefused(f"{version.ref}: cannot be loaded: {type(exc).__name__}: {_first_line(exc)}") from exc
        with self._slots_lock:  # a concurrent add of the same version (pin + move) gets one slot
            slot = self._slots.setdefault(adapter, Slot(version.name, version.id, adapter))
        log.info("loaded %s as adapter %s", slot.ref, adapter)
        return slot

    def _load(self, version: Version, adapter: str) -> None:
        try:
            load_adapter(self, str(version.path), adapter)
        except BaseException:  # Ctrl-C too: never leave a half-loaded adapter; re-raised
            discard_adapter(self, adapter)
            raise

    def _on_worker(self, task: Callable[[], Any]) -> Any:
        """Run a model change on the worker, between two batches or two decode steps: a busy
        worker would otherwise win the model lock again and again, starving the move."""
        if self._worker is None or not self._worker.is_alive() or threading.current_thread() is self._worker:
            with self._model_lock:
                return task()
        done: Future = Future()
        self._tasks.put((task, done))
        self._queue.put(_WAKE)
        return done.result()

    def _run_tasks(self) -> None:
        while True:
            try:
                task, done = self._tasks.get_nowait()
            except queue.Empty:
                return
            try:
                with self._model_lock:
                    done.set_result(task())
            except BaseException as exc:  # noqa: BLE001 — handed to the caller
                done.set_exception(exc)

    def acquire(self, slot: Slot) -> bool:
        """Count a request on `slot`; False when the slot was already removed."""
        with self._slots_lock:
            if self._slots.get(slot.adapter) is not slot:
                return False
            slot.inflight += 1
            return True

    def release(self, slot: Slot) -> None:
        with self._slots_lock:
            slot.inflight -= 1

    def retire(self, slot: Slot) -> None:
        """Remove `slot` once its in-flight requests have finished (done by the worker)."""
        with self._slots_lock:
            slot.retired = True

    def loaded(self) -> list[Slot]:
        with self._slots_lock:
            return list(self._slots.values())

    def _reap(self) -> None:
        with self._slots_lock:
            dead = [s for s in self._slots.values() if s.retired and s.inflight == 0]
            if len(dead) == len(self._slots):  # PEFT keeps at least one adapter
                dead = dead[1:]
            for slot in dead:
                del self._slots[slot.adapter]
        for slot in dead:
            with self._model_lock:
                self.model.delete_adapter(slot.adapter)
            log.info("unloaded %s", slot.ref)
        self._run_tasks()

    # ── requests ──────────────────────────────────────────────────────────────

    def encode(self, text: str) -> list[int]:
        with self._tokenizer_lock:
            return list(self.tokenizer(text)["input_ids"])

    def decode(self, tokens: list[int]) -> str:
        with self._tokenizer_lock:
            return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def token_text(self, token: int) -> str:
        """One token as text, special tokens included (logprobs name every token)."""
        with self._tokenizer_lock:
            return self.tokenizer.decode([token])

    def submit(self, job: Job) -> None:
        """Queue a job; its slot must already be acquired (released when the job ends)."""
        self.start()
        self._queue.put(job)

    def start(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="adapterctl-engine", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._reap()
                continue
            self._run_tasks()
            if first is None:
                break
            jobs = [] if first is _WAKE else [first]
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stopping.set()
                    break
                if more is not _WAKE:
                    jobs.append(more)
            self._run_tasks()
            groups: dict[tuple, list[Job]] = {}
            for job in jobs:
                groups.setdefault(job.batch_key, []).append(job)
            for group in groups.values():
                self._run_batch(group)
            self._reap()
        self._run_tasks()  # nobody waits forever on a load queued as the worker stopped

    def _run_batch(self, jobs: list[Job]) -> None:
        live = [j for j in jobs if not j.cancelled]
        for job in jobs:
            if job.cancelled:
                self._finish(job, ("done", "cancelled", _usage(job)))
        if not live:
            return
        try:
            with self._model_lock:
                generate_batch(self, live)
        except Exception as exc:  # a failed batch fails its requests, never the worker
            log.exception("generation failed")
            for job in live:
                if not job.done:
                    self._finish(job, ("error", f"generation failed: {type(exc).__name__}: {exc}"))
        for job in live:
            if not job.done:  # generate ended without our criteria marking it (should not happen)
                self._finish(job, ("done", "length", _usage(job)))

    def _finish(self, job: Job, event: tuple) -> None:
        job.done = True
        self.release(job.slot)
        job.sink(event)

    # ── per step (called from inside generate) ────────────────────────────────

    def step(self, jobs: list[Job], last_tokens: list[int], logprobs: Any = None) -> list[bool]:
        """Record one new token per row, stream text, and say which rows are finished.

        Also runs queued adapter loads: between two decode steps no forward is running, and
        a new adapter beside the batch's own changes none of its rows. A long answer in
        flight would otherwise hold a deploy or rollback back until it ends.
        """
        if not self._tasks.empty():
            import torch

            with torch.inference_mode(False):
                self._run_tasks()
        eos = set(self.eos_ids)
        out = []
        for job, token in zip(jobs, last_tokens, strict=True):
            if job.done:
                out.append(True)
                continue
            if job.cancelled:
                self._finish(job, ("done", "cancelled", _usage(job)))
            elif token in eos:
                self._flush(job, final=True)
                self._finish(job, ("done", "stop", _usage(job)))
            else:
                job.tokens.append(token)
                if job.logprobs is not None and logprobs is not None:
                    job.token_logprobs.append(token_logprob(logprobs[len(out)], token, job.logprobs))
                if self._flush(job, final=False):
                    self._finish(job, ("done", "stop", _usage(job)))
                elif len(job.tokens) >= job.max_tokens:
                    self._flush(job, final=True)
                    self._finish(job, ("done", "length", _usage(job)))
            out.append(job.done)
        return out

    def _flush(self, job: Job, *, final: bool) -> bool:
        """Send new text; True when a stop string ended the answer."""
        text = self.decode(job.tokens)
        for stop in job.stop:
            cut = text.find(stop)
            if cut != -1:
                if cut > len(job.sent):
                    job.sink(("delta", text[len(job.sent) : cut]))
                job.sent = text[:cut]
                return True
        if not final:
            if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
                return False
            hold = max((len(s) - 1 for s in job.stop), default=0)  # a stop string may be starting
            text = text[: len(text) - hold] if hold else text
        if len(text) > len(job.sent) and text.startswith(job.sent):
            job.sink(("delta", text[len(job.sent) :]))
            job.sent = text
        return False


def _first_line(exc: BaseException) -> str:
    """One line of an exception; torch's "Error(s) in loading state_dict ...:" header takes
    its first detail along."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")
    return text[:300]


def _context_length(model: Any, tokenizer: Any) -> int:
    limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 10**7]
    return min(usable) if usable else 2048


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _usage(job: Job) -> dict[str, int]:
    return {
        "prompt_tokens": len(job.prompt_ids),
        "completion_tokens": len(job.tokens),
        "total_tokens": len(job.prompt_ids) + len(job.tokens),
    }
