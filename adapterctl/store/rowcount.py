"""Rows in a data file: how many records it holds, and how many were added and removed between
two copies of it (what `status` tells about changed data). Cheap formats only: JSONL, CSV, and
Parquet's row count from its footer."""

from __future__ import annotations

import collections
import csv
from pathlib import Path


def count_rows(path: Path) -> int | None:
    """Records in a JSONL, CSV or Parquet file; None for formats we cannot count cheaply."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            return max(sum(1 for _ in csv.reader(f)) - 1, 0)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    return None


def _records(path: Path, suffix: str) -> collections.Counter[str] | None:
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as f:
            return collections.Counter(line.strip() for line in f if line.strip())
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            return collections.Counter("\x1f".join(row) for row in list(csv.reader(f))[1:])
    return None


def row_delta(old: Path, new: Path) -> tuple[int, int] | None:
    """(rows added, rows removed) from `old` to `new`, as multisets of records. The format is
    `new`'s: `old` is usually a DVC cache object, which has no file extension."""
    suffix = new.suffix.lower()
    before, after = _records(old, suffix), _records(new, suffix)
    if before is None or after is None:
        return None
    return sum((after - before).values()), sum((before - after).values())
