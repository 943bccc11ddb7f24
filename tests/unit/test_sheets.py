"""Human-eval sheets under bad input (issue 17): long fields, other encodings, folders, sheets
of another version or eval set, and formula injection on export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from adapterctl.core.errors import DataError, UsageError
from adapterctl.evaluation import sheets
from adapterctl.evaluation.results import EvalResult

VID = "a" * 64
MD5 = "0123456789abcdef0123456789abcdef"
HASHES = [f"{i:016x}" for i in range(3)]
EVALS = {MD5: set(HASHES)}


def _result(texts: list[str]) -> EvalResult:
    rows = [{"hash": h, "prompt": t, "reference": t, "output": t} for h, t in zip(HASHES, texts, strict=True)]
    return EvalResult("key", VID, {}, rows)


def _sheet(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=sheets.TEXT_COLUMNS + sheets.RATING_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _row(hash_: str, prompt: str = "p", **extra: str) -> dict[str, str]:
    return {"row": hash_, "version": VID, "eval_md5": MD5, "prompt": prompt, "adapter_accuracy": "4", **extra}


def test_export_then_import_round_trips_and_ties_the_sheet_to_version_and_eval(tmp_path) -> None:
    path = tmp_path / "s.csv"
    assert sheets.export(path, _result(["a", "b", "c"]), None, MD5) == 3
    rows = list(csv.DictReader(path.open(newline="")))
    assert {(r["version"], r["eval_md5"]) for r in rows} == {(VID, MD5)}
    for r in rows:
        r["adapter_accuracy"] = "5"
    _sheet(path, rows)
    summary = sheets.summarise(path, VID, EVALS)
    assert summary["adapter"]["accuracy"] == {"mean": 5.0, "n": 3} and summary["eval_md5"] == MD5


def test_exported_cells_are_never_formulas(tmp_path) -> None:
    path = tmp_path / "s.csv"
    sheets.export(path, _result(['=HYPERLINK("http://x")', "+1+2", "@SUM(A1)"]), None, MD5)
    cells = [c for r in csv.reader(path.open(newline="")) for c in r[3:7]][4:]
    assert cells and all(not c.startswith(("=", "+", "-", "@")) for c in cells)
    assert '\'=HYPERLINK("http://x")' in cells and sheets.escape_cell("-1") == "'-1"
    assert sheets.escape_cell("plain - text") == "plain - text"


def test_a_300_kb_field_is_read(tmp_path) -> None:
    path = _sheet(tmp_path / "s.csv", [_row(HASHES[0], prompt="x" * 300_000)])
    assert sheets.summarise(path, VID, EVALS)["rows"] == 1


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8-sig"])
def test_latin_1_and_utf_16_sheets_are_read(tmp_path, encoding) -> None:
    path = _sheet(tmp_path / "s.csv", [_row(HASHES[0], prompt="café ünïcode"), _row(HASHES[1])], encoding)
    assert sheets.summarise(path, VID, EVALS)["adapter"]["accuracy"]["n"] == 2


def test_a_folder_is_refused_for_export_and_import(tmp_path) -> None:
    with pytest.raises(UsageError, match="is a folder; name a .csv file"):
        sheets.export(tmp_path, _result(["a", "b", "c"]), None, MD5)
    with pytest.raises(UsageError, match="is a folder; name a .csv file"):
        sheets.summarise(tmp_path, VID, EVALS)


@pytest.mark.parametrize(
    "row, message",
    [
        (_row(HASHES[0], version="b" * 64), "exported for version 'bbbbbbbbbbbbbbbb', not aaaaaaaaaaaa"),
        (_row(HASHES[0], eval_md5="f" * 32), "is not an eval set this version was evaluated on"),
        (_row("ffffffffffffffff"), "is not a row of that eval set"),
    ],
)
def test_a_sheet_of_another_version_or_eval_is_refused_with_its_line(tmp_path, row, message) -> None:
    path = _sheet(tmp_path / "s.csv", [_row(HASHES[1]), row])
    with pytest.raises(DataError, match=f"s.csv:3: .*{message}"):
        sheets.summarise(path, VID, EVALS)


def test_more_rows_than_the_eval_has_are_refused(tmp_path) -> None:
    rows = [_row(HASHES[i % 3]) for i in range(2000)]
    with pytest.raises(DataError, match="s.csv:5: row .* appears twice"):
        sheets.summarise(_sheet(tmp_path / "s.csv", rows), VID, EVALS)


def test_an_old_sheet_without_the_ids_is_refused(tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("row,prompt," + ",".join(sheets.RATING_COLUMNS) + "\n")
    with pytest.raises(DataError, match="missing column.*version, eval_md5"):
        sheets.summarise(path, VID, EVALS)
