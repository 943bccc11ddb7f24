"""Counting what a DVC push or pull moves (files and bytes), for `storage` to report.

DVC draws its own tqdm bars, created inside dvc_data's push and fetch (the callback a caller
passes does not reach the per-file transfer). While `counting` is active, those two modules
build a `_FileCounter` instead: it receives the same calls (files to move, one update per
file, a branch per file that counts its bytes) and forwards the totals to a sink. When a DVC
release renames that seam, transfers still work; only the live counts stop.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

_SEAMS = ("dvc_data.index.push", "dvc_data.index.fetch")


@dataclass
class TransferCount:
    """Files and bytes moved so far, and how many files this transfer set out to move."""

    files: int = 0
    files_total: int = 0
    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _sink: Callable[[TransferCount], None] | None = field(default=None, repr=False, compare=False)

    def _add(self, files: int = 0, total: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.files += files
            self.files_total += total
            self.bytes += nbytes
        if self._sink is not None:
            self._sink(self)


def _callback_base() -> type:
    from fsspec.callbacks import Callback

    return Callback


def _make_classes(count: TransferCount) -> Callable[..., Any]:
    Callback: Any = _callback_base()

    class _ByteCounter(Callback):
        """One file's bytes (the child callback a put or get reports into)."""

        value: int  # fsspec's: the bytes reported so far

        def relative_update(self, inc: int = 1) -> None:
            count._add(nbytes=int(inc or 0))

        def absolute_update(self, value: int) -> None:
            grew = int(value or 0) - int(self.value or 0)
            self.value = value
            if grew > 0:
                count._add(nbytes=grew)

    class _FileCounter(Callback):
        """Stands in for dvc_data's TqdmCallback: one instance per transfer stage."""

        def __init__(self, *args: Any, total: int | None = None, **kwargs: Any) -> None:
            super().__init__(size=None)
            self._counted_size = 0
            self._sized = False
            if total:  # fetch's guess (every entry); the transfer's own count replaces it
                self._count_size(int(total))

        def set_size(self, size: int | None) -> None:
            # The first call is the transfer's count of objects to move; later calls size the
            # batches inside it (dvc_objects' db.add), which must not shrink the total.
            if not self._sized:
                self._sized = True
                self._count_size(int(size or 0))

        def _count_size(self, size: int) -> None:
            count._add(total=size - self._counted_size)
            self._counted_size = size
            self.size = size

        def relative_update(self, inc: int = 1) -> None:
            count._add(files=int(inc or 0))

        def branched(self, path_1: Any, path_2: Any, **kwargs: Any) -> Any:
            return _ByteCounter()

        def __enter__(self) -> _FileCounter:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def close(self) -> None:
            return None

    return _FileCounter


@contextlib.contextmanager
def counting(sink: Callable[[TransferCount], None] | None = None) -> Iterator[TransferCount]:
    """Count the files and bytes DVC transfers inside this block; `sink` sees every update."""
    import importlib

    count = TransferCount(_sink=sink)
    factory = _make_classes(count)
    saved: list[tuple[Any, Any]] = []
    for name in _SEAMS:
        with contextlib.suppress(ImportError):
            module = importlib.import_module(name)
            if hasattr(module, "TqdmCallback"):
                saved.append((module, module.TqdmCallback))
                setattr(module, "TqdmCallback", factory)  # noqa: B010 - patched by name: dvc_data has no hook
    try:
        yield count
    finally:
        for module, original in saved:
            module.TqdmCallback = original
