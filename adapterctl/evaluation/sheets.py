"""Human eval, as the practitioners' guide recommends: rate base and adapter answers 1-5 for
accuracy, style and safety in a spreadsheet, then store the summary in the card.

    eval REF --export-sheet out.csv   one row per eval row: prompt, reference, both answers,
                                      and empty rating columns
    eval REF --import-sheet rated.csv the means and counts go to the card (metrics.human_eval)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from adapterctl.errors import DataError
from adapterctl.evaluation.results import EvalResult
from adapterctl.project import atomic_write

CRITERIA = ("accuracy", "style", "safety")
WHO = ("adapter", "base")
TEXT_COLUMNS = ["row", "prompt", "reference", "base_answer", "adapter_answer"]
RATING_COLUMNS = [f"{who}_{c}" for who in WHO for c in CRITERIA]


def export(path: Path, version: EvalResult, base: EvalResult | None) -> int:
    """Write the sheet; returns the number of rows."""
    base_rows = base.by_hash() if base else {}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(TEXT_COLUMNS + RATING_COLUMNS)
    for r in version.rows:
        writer.writerow(
            [
                r["hash"],
                r["prompt"],
                r["reference"],
                base_rows.get(r["hash"], {}).get("output", ""),
                r["output"],
                *[""] * len(RATING_COLUMNS),
            ]
        )
    atomic_write(path, buf.getvalue())
    return len(version.rows)


def summarise(path: Path) -> dict[str, Any]:
    """{adapter: {criterion: {mean, n}}, base: {...}, rows: N}; ratings must be 1-5 or empty."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in RATING_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path}: missing rating column(s) {', '.join(missing)} (export a sheet with --export-sheet)")
    sums: dict[str, list[int]] = {c: [] for c in RATING_COLUMNS}
    rows = 0
    for number, row in enumerate(reader, start=2):
        rows += 1
        for column in RATING_COLUMNS:
            value = (row.get(column) or "").strip()
            if not value:
                continue
            if value not in {"1", "2", "3", "4", "5"}:
                raise DataError(f"{path}:{number}: {column} is {value!r}; ratings are whole numbers 1-5 (or empty)")
            sums[column].append(int(value))
    if not any(sums.values()):
        raise DataError(f"{path}: no ratings filled in")
    out: dict[str, Any] = {"rows": rows, "sheet": path.name}
    for who in WHO:
        out[who] = {c: {"mean": round(sum(v) / len(v), 3), "n": len(v)} for c in CRITERIA if (v := sums[f"{who}_{c}"])}
    return out
