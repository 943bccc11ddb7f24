"""Rows the data check refuses unread (issue 17): over max_row_bytes, nested past MAX_DEPTH,
in JSONL, CSV and JSON, each with its line; the reader keeps going after them."""

from __future__ import annotations

import json

from adapterctl.data.hygiene import rows

ROW = json.dumps({"instruction": "i", "output": "o"})


def test_jsonl_rows_over_the_size_or_depth_limit_are_named_and_skipped(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    deep = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    nested_70 = '{"a": ' + "[" * 70 + "]" * 70 + "}"
    path.write_text("\n".join([ROW, deep, nested_70, json.dumps({"a": "x" * 25_000}), ROW]) + "\n")
    data = rows.read(path, "d.jsonl", "train", max_row_bytes=20_000)
    assert [r.line for r in data.rows] == [1, 5]
    messages = {p.line: p.message for p in data.unreadable}
    assert messages[2].startswith("nested deeper than 64 levels") and messages[3].startswith("nested deeper")
    assert messages[4].startswith("row of 25,010 bytes is over data_checks.max_row_bytes (20,000)")


def test_a_row_at_the_limit_is_read(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(ROW + "\n")
    assert len(rows.read(path, "d.jsonl", "train", max_row_bytes=len(ROW) + 1).rows) == 1


def test_csv_fields_over_the_limit_are_named(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("instruction,output\na,b\n" + "x" * 3000 + ",c\nd,e\n")
    data = rows.read(path, "d.csv", "train", max_row_bytes=1024)
    assert [r.line for r in data.rows] == [2, 4]
    assert data.unreadable[0].line == 3 and "over data_checks.max_row_bytes (1,024)" in data.unreadable[0].message


def test_json_array_nested_too_deep_is_named(tmp_path) -> None:
    path = tmp_path / "d.json"
    path.write_text("[" * 5000 + "]" * 5000)
    data = rows.read(path, "d.json", "train")
    assert data.rows == [] and "nested deeper than 64" in data.unreadable[0].message
