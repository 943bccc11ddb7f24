"""Reading a data file row by row, carrying on past bad rows, with each row's file line.

`datasets` stops at the first bad line and numbers rows, not lines; a hygiene check has to
see every problem at once and point at the line a user opens in an editor. JSONL and CSV
rows keep their 1-based file line; JSON arrays and Parquet files have row numbers.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError
from adapterctl.data.hygiene.problems import Problem
from adapterctl.store import storage

MAX_ROW_BYTES = 1_048_576  # the manifest's data_checks.max_row_bytes default
# Deeper rows are refused: no prompt format nests past a handful of levels, and Python's JSON
# parser (and every recursive walk of a row) would otherwise hit the recursion limit.
MAX_DEPTH = 64
ANSWER_KEYS = {"instruction": "output", "prompt_completion": "completion", "chat": "messages"}
TAG_FIELDS = ("tag", "task", "task_type", "category")


@dataclass
class Row:
    line: int
    data: dict[str, Any]


@dataclass
class DataFile:
    role: str  # train | val | eval
    label: str  # project-relative path, as problems name it
    path: Path
    unit: str  # "line", or "row" where the format has no lines to point at
    rows: list[Row] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)  # rows that are not JSON objects / UTF-8
    format: str | None = None  # instruction | prompt_completion | chat; None when no row tells

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row.data))
        return list(seen)


def read_guard(path: Path, label: str) -> None:
    """Bad input, not a data problem: a file that is not there or not a data format."""
    if not path.is_file():
        raise DataError(f"{label}: file not found{storage.not_pulled_hint(path)}")
    if path.suffix.lower() not in _READERS:
        raise DataError(
            f"{label}: unsupported data format {path.suffix or '(no suffix)'}; use .jsonl, .csv, .json or .parquet"
        )


def read(path: Path, label: str, role: str, max_row_bytes: int = MAX_ROW_BYTES) -> DataFile:
    read_guard(path, label)
    suffix = path.suffix.lower()
    data = DataFile(role, label, path, "row" if suffix in (".json", ".parquet") else "line")
    for number, value, error in _READERS[suffix](path, max_row_bytes):
        if not error and too_deep(value):
            error = f"nested deeper than {MAX_DEPTH} levels; rows are flat objects or chat messages"
        if error:
            data.unreadable.append(Problem("schema", label, number, error))
        elif not isinstance(value, dict):
            data.unreadable.append(Problem("schema", label, number, f"a row must be a JSON object, got {kind(value)}"))
        else:
            data.rows.append(Row(number, value))
    return data


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists and objects deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def _too_long(size: int, limit: int) -> str:
    return f"row of {size:,} bytes is over data_checks.max_row_bytes ({limit:,}); it was not read"


def _lines(f: Any, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, bytes or None when over `limit`, bytes seen) of a binary file, holding
    at most `limit` + 1 bytes of one line in memory: a 50 MB line is skipped, not loaded."""
    number = 0
    while True:
        raw = f.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield number, raw, len(raw)
            continue
        size = len(raw)
        while raw and not raw.endswith(b"\n"):  # skip the rest of the long line in chunks
            raw = f.readline(1 << 20)
            size += len(raw)
        yield number, None, size


def _jsonl(path: Path, limit: int) -> Iterator[tuple[int, Any, str | None]]:
    with path.open("rb") as f:
        for number, raw, size in _lines(f, limit):
            if raw is None:
                yield number, None, _too_long(size, limit)
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark, as some editors write
            if not raw.strip():
                continue  # blank lines carry no row (datasets skips them too)
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                continue
            try:
                yield number, json.loads(text), None
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})"
            except RecursionError:
                yield number, None, f"nested deeper than {MAX_DEPTH} levels; rows are flat objects or chat messages"


def _csv(path: Path, limit: int) -> Iterator[tuple[int, Any, str | None]]:
    # surrogateescape keeps undecodable bytes as lone surrogates, so one bad row is reported
    # where it is instead of failing the whole file. Read as a stream: a huge field is refused
    # by the csv module's field limit (and the rest of the file then, as its place is lost).
    csv.field_size_limit(max(csv.field_size_limit(), limit))
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
            end = reader.line_num
            for record in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if sum(len(cell) for cell in record) > limit:
                    yield start, None, _too_long(sum(len(c) for c in record), limit)
                elif any(_SURROGATE.search(cell) for cell in record):
                    yield start, None, "not UTF-8 text"
                elif len(record) != len(header):
                    yield start, None, f"{len(record)} fields where the header has {len(header)}"
                else:
                    yield start, dict(zip(header, record, strict=True)), None
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, None, f"not readable as CSV ({exc}); the rest of the file was not read"


_SURROGATE = re.compile("[\udc80-\udcff]")


def _json_array(path: Path, limit: int) -> Iterator[tuple[int, Any, str | None]]:
    try:
        value = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        yield 1, None, f"not UTF-8 text (byte at offset {exc.start})"
        return
    except json.JSONDecodeError as exc:
        yield exc.lineno, None, f"not valid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})"
        return
    except RecursionError:
        yield 1, None, f"nested deeper than {MAX_DEPTH} levels"
        return
    if not isinstance(value, list):
        yield 1, None, "a .json data file must hold a list of row objects"
        return
    for index, item in enumerate(value, start=1):
        yield index, item, None


def _parquet(path: Path, limit: int) -> Iterator[tuple[int, Any, str | None]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        yield 1, None, f"cannot read as Parquet: {exc}"
        return
    for index, item in enumerate(table.to_pylist(), start=1):
        yield index, item, None


_READERS = {".jsonl": _jsonl, ".ndjson": _jsonl, ".csv": _csv, ".json": _json_array, ".parquet": _parquet}


def kind(value: Any) -> str:
    """How a message names a JSON value's type."""
    names = {list: "a list", dict: "an object", str: "a string", type(None): "null", bool: "a boolean"}
    return names.get(type(value), "a number")


# ── what a row says: its prompt, its answer, every piece of text in it ────────────


def prompt_and_answer(data: dict[str, Any], fmt: str, tag_field: str | None) -> tuple[str, str]:
    """The row's prompt (everything the model is shown) and answer (what it learns to write)."""
    if fmt == "chat":
        messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        return _flatten(messages[:-1]), _flatten(messages[-1:])
    answer_key = ANSWER_KEYS[fmt]
    if fmt == "prompt_completion":
        return _flatten(data.get("prompt")), _flatten(data.get(answer_key))
    parts = [str(v) for k, v in data.items() if k not in (answer_key, tag_field) and isinstance(v, (str, int, float))]
    return "\n".join(parts), _flatten(data.get(answer_key))


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # conversational prompt/completion or chat messages
        return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in value if isinstance(m, dict))
    return "" if value is None else str(value)


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) for every string in a row: `output`, `messages[2].content`."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "role":
                yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")


def first_of_each_kind(
    data: DataFile, invalid: set[int], check: str, find: Callable[[str], Iterable[tuple[str, str]]]
) -> list[Problem]:
    """For checks that scan every string of a row (`find(text)` yields (kind, what to show)):
    one problem per row and kind, the first found, naming the field it is in."""
    problems = []
    for row in data.rows:
        if row.line in invalid:
            continue
        reported = set()
        for path, text in strings(row.data):
            for kind, shown in find(text):
                if kind not in reported:
                    reported.add(kind)
                    problems.append(Problem(check, data.label, row.line, f"{kind} in `{path}`: {shown}"))
    return problems


def map_strings(value: Any, fn) -> Any:
    """`value` with `fn` applied to every string in it (roles left alone)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: (v if k == "role" else map_strings(v, fn)) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case and whitespace folded: what `exact duplicate` compares."""
    return _SPACE.sub(" ", text.casefold()).strip()


def tag_field_of(columns: list[str], configured: str | None) -> str | None:
    if configured:
        return configured if configured in columns else None
    return next((name for name in TAG_FIELDS if name in columns), None)
