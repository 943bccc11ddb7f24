"""Read a data file (JSONL, JSON, CSV, Parquet) into a `datasets.Dataset`.

Everything goes through `datasets` so that large files are memory-mapped Arrow tables
rather than Python lists. Errors name the file and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

from adapterctl.core.errors import DataError
from adapterctl.data.hygiene.rows import MAX_DEPTH, too_deep
from adapterctl.data.hygiene.rows import kind as json_kind
from adapterctl.store import storage

# file suffix → the `datasets` builder that reads it
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
JSON_BLANK = " \t\r"  # what JSON counts as whitespace besides the newline that ends a line


def load_table(path: Path, *, label: str | None = None, numbered: bool = False):
    """All rows of `path` as a Dataset. `label` is how errors name the file (project-relative).

    With `numbered`, a `__row__` column holds where each row is in the file: its 1-based
    line for JSONL and CSV (what an editor shows), its 1-based row for JSON and Parquet.
    """
    import datasets

    label = label or str(path)
    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise DataError(
            f"{label}: unsupported data format {path.suffix or '(no suffix)'}; use .jsonl, .csv or .parquet"
        )
    if not path.is_file():
        raise DataError(f"{label}: file not found{storage.not_pulled_hint(Path(path))}")
    if path.stat().st_size == 0:
        raise DataError(f"{label}: the file is empty (no rows)")
    lines = scan_text(path, label) if builder != "parquet" else None
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bar()  # our own progress is the only bar users see
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", keep_in_memory=True)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types (ArrowInvalid, DatasetGenerationError, ...)
        raise DataError(f"{label}: cannot read as {builder.upper()}: {_root_cause(exc)}") from None
    finally:
        if was_enabled:
            datasets.enable_progress_bar()
    if len(table) == 0:
        raise DataError(f"{label}: no rows")
    if numbered:
        if lines is None or len(lines) != len(table):
            lines = list(range(1, len(table) + 1))
        table = table.add_column("__row__", lines)
    return table


def scan_text(path: Path, label: str) -> list[int] | None:
    """Check a text data file before `datasets` reads it, so errors name the file and line:
    UTF-8 throughout, and for JSONL one JSON object per non-blank line (rows that are a bare
    `null` or number crash pyarrow's reader with SIGSEGV: finding F1). Returns the 1-based
    line of each row (JSONL, CSV), or None where rows are not lines (JSON)."""
    import csv
    import json

    suffix = path.suffix.lower()
    rows: list[int] = []
    with path.open("rb") as f:
        raw_lines = f.read().split(b"\n")
    text_lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text_lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{label}:{number}: not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line); "
                "re-save the file as UTF-8"
            ) from None
    if suffix == ".jsonl":
        for number, line in enumerate(text_lines, start=1):
            # Blank means JSON whitespace only: pyarrow skips those lines and chokes on others
            # (form feed, U+2028), so those get a line number here instead.
            if not line.strip(JSON_BLANK):
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{label}:{number}: invalid JSON ({exc})") from None
            except RecursionError:
                raise DataError(f"{label}:{number}: nested deeper than {MAX_DEPTH} levels") from None
            if too_deep(value):
                raise DataError(f"{label}:{number}: nested deeper than {MAX_DEPTH} levels")
            if not isinstance(value, dict):
                raise DataError(f"{label}:{number}: expected a JSON object per line, got {json_kind(value)}")
            rows.append(number)
        if not rows:
            raise DataError(f"{label}: no rows (only blank lines)")
        return rows
    if suffix == ".json":
        try:
            document = json.loads("\n".join(text_lines))
        except ValueError as exc:
            line = getattr(exc, "lineno", "?")
            raise DataError(f"{label}:{line}: invalid JSON ({exc})") from None
        except RecursionError:
            raise DataError(f"{label}: nested deeper than {MAX_DEPTH} levels") from None
        if too_deep(document, MAX_DEPTH + 1):
            raise DataError(f"{label}: a row is nested deeper than {MAX_DEPTH} levels")
        # One object is one row; otherwise a list of objects. A `null` element beside an
        # object crashes pyarrow (SIGSEGV, finding F1), so nothing else reaches it.
        elements = [document] if isinstance(document, dict) else document
        if not isinstance(elements, list):
            raise DataError(f"{label}: expected a JSON list of objects, got {json_kind(document)}")
        if not elements:
            raise DataError(f"{label}: no rows (an empty list)")
        for number, value in enumerate(elements, start=1):
            if not isinstance(value, dict):
                raise DataError(f"{label} row {number}: expected a JSON object, got {json_kind(value)}")
        return None
    # CSV: a quoted field may span lines; a row is numbered by the line it starts on.
    reader = csv.reader(text_lines)
    try:
        header = next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            if record:
                rows.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{label}:{reader.line_num}: invalid CSV ({exc})") from None
    if header is None or not rows:
        raise DataError(f"{label}: no rows")
    return rows


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
