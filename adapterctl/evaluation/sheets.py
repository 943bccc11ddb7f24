"""Human eval, as the practitioners' guide recommends: rate base and adapter answers 1-5 for
accuracy, style and safety in a spreadsheet, then store the summary in the card.

    sheet export REF out.csv          one row per eval row: prompt, reference, both answers,
                                      and empty rating columns
    sheet import REF rated.csv        the means and counts go to the card (metrics.human_eval)
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError, UsageError
from adapterctl.core.project import atomic_write
from adapterctl.evaluation.results import EvalResult

CRITERIA = ("accuracy", "style", "safety")
WHO = ("adapter", "base")
# A sheet names the version and the eval set (md5) it was exported for: import refuses a
# sheet of another version, another eval set, or with rows that eval set does not have.
TEXT_COLUMNS = ["row", "version", "eval_md5", "prompt", "reference", "base_answer", "adapter_answer"]
RATING_COLUMNS = [f"{who}_{c}" for who in WHO for c in CRITERIA]
# Spreadsheet tools run a cell starting with one of these as a formula; a leading ' makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Prompts and answers can be long; the csv module's default limit (128 KiB a field) is not ours.
FIELD_LIMIT = 64 * 1024 * 1024


def escape_cell(text: str) -> str:
    """`text` made safe to open in a spreadsheet: no cell is read as a formula (OWASP's advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export(path: Path, version: EvalResult, base: EvalResult | None, eval_md5: str) -> int:
    """Write the sheet; returns the number of rows."""
    _refuse_folder(path, "sheet export")
    base_rows = base.by_hash() if base else {}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(TEXT_COLUMNS + RATING_COLUMNS)
    for r in version.rows:
        texts = [r["prompt"], r["reference"], base_rows.get(r["hash"], {}).get("output", ""), r["output"]]
        writer.writerow([r["hash"], version.subject, eval_md5, *map(escape_cell, texts), *[""] * len(RATING_COLUMNS)])
    try:
        atomic_write(path, buf.getvalue())
    except OSError as exc:
        raise UsageError(f"sheet export {path}: cannot write there ({exc.strerror})") from None
    return len(version.rows)


def summarise(path: Path, version_id: str, evals: dict[str, set[str]]) -> dict[str, Any]:
    """{adapter: {criterion: {mean, n}}, base: {...}, rows: N}; ratings must be 1-5 or empty.

    `evals` maps each eval md5 the version has results for to the row hashes of that eval:
    every sheet row must name this version, one of those md5s and a row of that eval.
    """
    reader = csv.DictReader(io.StringIO(_text(path)))
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        fields = reader.fieldnames or []
        missing = [c for c in ["row", "version", "eval_md5", *RATING_COLUMNS] if c not in fields]
        if missing:
            raise DataError(
                f"{path}: missing column(s) {', '.join(missing)}; export a sheet for this version with `adapterctl sheet export`"
            )
        sums: dict[str, list[int]] = {c: [] for c in RATING_COLUMNS}
        rows, seen = 0, set[str]()
        for row in reader:
            number = reader.line_num
            rows += 1
            _check_row(path, number, row, version_id, evals, seen)
            for column in RATING_COLUMNS:
                value = (row.get(column) or "").strip()
                if not value:
                    continue
                if value not in {"1", "2", "3", "4", "5"}:
                    raise DataError(
                        f"{path}:{number}: {column} is {value[:40]!r}; ratings are whole numbers 1-5 (or empty)"
                    )
                sums[column].append(int(value))
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not a readable CSV sheet ({exc})") from None
    if not any(sums.values()):
        raise DataError(f"{path}: no ratings filled in")
    out: dict[str, Any] = {"rows": rows, "sheet": path.name, "version": version_id}
    md5s = {r for r in seen if isinstance(r, str) and not r.startswith("row:")}
    if len(md5s) == 1:
        out["eval_md5"] = next(iter(md5s))
    for who in WHO:
        out[who] = {c: {"mean": round(sum(v) / len(v), 3), "n": len(v)} for c in CRITERIA if (v := sums[f"{who}_{c}"])}
    return out


def _check_row(
    path: Path, number: int, row: dict[str, Any], version_id: str, evals: dict[str, set[str]], seen: set[str]
) -> None:
    vid, md5, hash_ = (str(row.get(k) or "").strip() for k in ("version", "eval_md5", "row"))
    if vid != version_id:
        raise DataError(
            f"{path}:{number}: the sheet was exported for version {vid[:16] or '(none)'!r}, not {version_id[:12]}; "
            "import it into the version it was exported for"
        )
    if md5 not in evals:
        raise DataError(
            f"{path}:{number}: eval_md5 {md5[:32] or '(none)'!r} is not an eval set this version was evaluated on; "
            "export a new sheet"
        )
    if hash_ not in evals[md5]:
        raise DataError(f"{path}:{number}: row {hash_[:32]!r} is not a row of that eval set")
    if f"row:{hash_}" in seen:
        raise DataError(f"{path}:{number}: row {hash_} appears twice in the sheet")
    seen.update({md5, f"row:{hash_}"})


def _text(path: Path) -> str:
    """The sheet's text: UTF-8 (with or without BOM) or UTF-16 with its BOM, as spreadsheet
    tools save CSV; other bytes are read as Windows-1252 (only ids and digits are read back)."""
    _refuse_folder(path, "sheet import")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{path}: starts as UTF-16 but is not valid UTF-16 text") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _refuse_folder(path: Path, option: str) -> None:
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; name a .csv file")
