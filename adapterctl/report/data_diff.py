"""Row-level data changes between two versions' data files, found by row content hash.

A row's *identity* is everything but its answer (`output`, `completion`, or the last chat
message): the same question with a new answer is a changed row, not one removed and one
added. The old file usually survives only in the DVC cache (the card records its md5), so
it is read from there; without it, only the card's row counts are known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.project import Project
from adapterctl.evaluation.results import row_hash
from adapterctl.store import storage

ANSWER_KEYS = ("output", "completion")


@dataclass
class RowChanges:
    role: str
    path: str
    added: int
    removed: int
    changed: int
    examples: dict[str, list[Any]] = field(default_factory=dict)  # added/removed: rows; changed: [old, new]
    note: str = ""


def _rows(path: Path) -> list[dict[str, Any]] | None:
    if path.suffix.lower() not in (".jsonl", ".ndjson", "") and path.suffix:
        return None
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError):
        return None


def _identity(row: dict[str, Any]) -> str:
    rest = {k: v for k, v in row.items() if k not in ANSWER_KEYS}
    if isinstance(rest.get("messages"), list):
        rest["messages"] = rest["messages"][:-1]
    return row_hash(rest)


def row_changes(old_rows: list[dict], new_rows: list[dict], *, role: str, path: str, examples: int = 3) -> RowChanges:
    """Rows in both (same content) cancel out; of the rest, the same identity is a changed row."""
    unmatched_old: dict[str, list[dict]] = {}
    for r in old_rows:
        unmatched_old.setdefault(row_hash(r), []).append(r)
    leftover_new = []
    for r in new_rows:
        bucket = unmatched_old.get(row_hash(r))
        if bucket:
            bucket.pop()
        else:
            leftover_new.append(r)
    by_identity: dict[str, list[dict]] = {}
    for bucket in unmatched_old.values():
        for r in bucket:
            by_identity.setdefault(_identity(r), []).append(r)
    added, changed = [], []
    for r in leftover_new:
        bucket = by_identity.get(_identity(r))
        if bucket:
            changed.append([bucket.pop(0), r])
        else:
            added.append(r)
    removed = [r for bucket in by_identity.values() for r in bucket]
    return RowChanges(
        role,
        path,
        len(added),
        len(removed),
        len(changed),
        {"added": added[:examples], "removed": removed[:examples], "changed": changed[:examples]},
    )


def changes(project: Project, data: list[dict[str, Any]], *, examples: int = 3) -> list[RowChanges]:
    """RowChanges for every data role whose md5 differs, reading both versions from the DVC cache
    (or the working tree, when it holds that md5)."""
    out = []
    for d in data:
        if not d["changed"]:
            continue
        old, new = _locate(project, d["path"], d["old_md5"]), _locate(project, d["path"], d["new_md5"])
        if old is None or new is None:
            out.append(
                RowChanges(
                    d["role"],
                    d["path"],
                    0,
                    0,
                    0,
                    note="an older copy is not in the local DVC cache: "
                    "only row counts are known (`dvc pull` or `dvc fetch` the old commit)",
                )
            )
            continue
        old_rows, new_rows = _rows(old), _rows(new)
        if old_rows is None or new_rows is None:
            out.append(RowChanges(d["role"], d["path"], 0, 0, 0, note="row-level changes are shown for JSONL only"))
            continue
        out.append(row_changes(old_rows, new_rows, role=d["role"], path=d["path"], examples=examples))
    return out


def _locate(project: Project, rel: str, md5: str) -> Path | None:
    if not md5:
        return None
    from adapterctl.store import fingerprints

    here = project.root / rel
    if here.is_file() and fingerprints.file_digest(here, "md5") == md5:
        return here
    return storage.cached_file(project.root, md5)
