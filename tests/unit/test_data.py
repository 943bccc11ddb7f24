"""Data loading and template rendering: formats, clear errors, deterministic splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapterctl.core.errors import DataError
from adapterctl.data import examples
from adapterctl.data.templates import Template
from adapterctl.store.fingerprints import file_digest

ROWS = [{"instruction": "Answer briefly.", "input": f"question {i}", "output": f"answer {i}"} for i in range(20)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "train.jsonl", ROWS)
    (tmp_path / "t.txt").write_text("Q: {instruction}\n{input}\nA: ")
    return tmp_path


def build(root: Path, **kw):
    args = {"data": "train.jsonl", "val_data": None, "template": "t.txt", "val_split": 0.0, "seed": 1}
    return examples.build(root, **{**args, **kw})


def test_instruction_rows_render_through_the_template(root: Path) -> None:
    data = build(root)
    assert data.format == "instruction" and len(data.train) == 20 and data.val is None
    assert data.train[3] == {"prompt": "Q: Answer briefly.\nquestion 3\nA: ", "completion": "answer 3"}


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_csv_and_parquet_load_like_jsonl(root: Path, suffix: str) -> None:
    import datasets

    table = datasets.Dataset.from_list(ROWS)
    getattr(table, f"to_{suffix}")(str(root / f"train.{suffix}"))
    data = build(root, data=f"train.{suffix}")
    assert data.train[:] == build(root).train[:]


def test_prompt_completion_rows_pass_through_without_a_template(root: Path) -> None:
    write_jsonl(root / "pc.jsonl", [{"prompt": "2+2=", "completion": "4"}, {"prompt": "3+3=", "completion": "6"}])
    data = build(root, data="pc.jsonl", template=None)
    assert data.format == "prompt_completion" and data.train[1] == {"prompt": "3+3=", "completion": "6"}


def test_chat_rows_split_at_the_last_assistant_turn(root: Path) -> None:
    chat = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        }
    ] * 3
    write_jsonl(root / "chat.jsonl", chat)
    data = build(root, data="chat.jsonl", template=None)
    assert data.format == "chat"
    assert data.train[0]["completion"] == [{"role": "assistant", "content": "hello"}]
    assert [m["role"] for m in data.train[0]["prompt"]] == ["system", "user"]


def test_chat_rows_must_end_with_the_assistant(root: Path) -> None:
    write_jsonl(root / "chat.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(DataError, match=r"chat.jsonl:1: the last message must be the assistant"):
        build(root, data="chat.jsonl", template=None)


def test_a_placeholder_the_row_lacks_names_the_template_and_the_row(root: Path) -> None:
    rows = [dict(r) for r in ROWS]
    del rows[6]["input"]
    write_jsonl(root / "train.jsonl", rows)
    with pytest.raises(DataError) as err:
        build(root)
    assert str(err.value) == (
        "template t.txt: placeholder {input} has no value in train.jsonl:7 (row fields: instruction, output)"
    )


def test_row_numbers_survive_the_val_split(root: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[12]["input"] = None
    write_jsonl(root / "train.jsonl", rows)
    with pytest.raises(DataError, match=r"train.jsonl:13"):
        build(root, val_split=0.5)


def test_template_syntax_errors_are_caught_at_load() -> None:
    with pytest.raises(DataError, match=r"t.txt: placeholder \{input.x\} is not a plain field name"):
        Template.parse("{input.x}", "t.txt")
    with pytest.raises(DataError, match="literal braces"):
        Template.parse("a { b", "t.txt")
    assert Template.parse("{{json}} {a}", "t").render({"a": "1"}, "r") == "{json} 1"


def test_val_split_is_fixed_by_the_seed(root: Path) -> None:
    a, b, c = build(root, val_split=0.25), build(root, val_split=0.25), build(root, val_split=0.25, seed=2)
    assert len(a.val) == 5 and len(a.train) == 15
    assert a.val[:] == b.val[:] and a.train[:] == b.train[:]
    assert a.val[:] != c.val[:]


def test_explicit_val_data_replaces_the_split(root: Path) -> None:
    write_jsonl(root / "val.jsonl", ROWS[:4])
    data = build(root, val_data="val.jsonl", val_split=0.5)
    assert len(data.train) == 20 and len(data.val) == 4 and data.val_source == "val_data"
    assert data.summary()["val_sha256"] == file_digest(root / "val.jsonl", "sha256")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("", "empty.jsonl", "empty.jsonl: "),
        ('{"a": 1}\n', "cols.jsonl", "cannot tell the row format from its columns (a)"),
        ("not json\n", "bad.jsonl", "bad.jsonl:1: invalid JSON"),
        ("x", "data.txt", "unsupported data format .txt"),
    ],
)
def test_unusable_files_are_data_errors(root: Path, content: str, name: str, message: str) -> None:
    (root / name).write_text(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(root, data=name)


def test_missing_file_mentions_dvc_when_tracked(root: Path) -> None:
    (root / "gone.jsonl.dvc").write_text("outs: []\n")
    with pytest.raises(DataError, match=r"gone.jsonl: file not found \(it is DVC-tracked"):
        build(root, data="gone.jsonl")


def test_rows_need_an_answer(root: Path) -> None:
    write_jsonl(root / "train.jsonl", [{**ROWS[0], "output": " "}])
    with pytest.raises(DataError, match=r"train.jsonl:1: `output` is empty"):
        build(root)


def test_default_template_without_one_in_the_manifest(root: Path) -> None:
    data = build(root, template=None)
    assert data.train[0]["prompt"].startswith("### Instruction:\nAnswer briefly.\n\n### Input:\nquestion 0")


# ── issue 8: data errors name the file and its line, 1-based as editors count ──


def test_non_utf8_bytes_name_the_file_and_line(root: Path) -> None:
    lines = [json.dumps(r) for r in ROWS[:5]]
    raw = "\n".join(lines).encode().replace(b"question 3", b"question \xff3")
    (root / "train.jsonl").write_bytes(raw + b"\n")
    with pytest.raises(DataError, match=r"^train.jsonl:4: not UTF-8 text"):
        build(root)


def test_invalid_json_names_its_line(root: Path) -> None:
    text = "".join(json.dumps(r) + "\n" for r in ROWS[:5]).splitlines(keepends=True)
    text[2] = '{"instruction": "x", "output": \n'
    (root / "train.jsonl").write_text("".join(text))
    with pytest.raises(DataError, match=r"^train.jsonl:3: invalid JSON"):
        build(root)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_data_file_is_a_clear_error(root: Path, content: str) -> None:
    (root / "train.jsonl").write_text(content)
    with pytest.raises(DataError, match=r"^train.jsonl: .*(empty|no rows)"):
        build(root)


def test_row_errors_give_the_file_line_after_blank_lines(root: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[5]["output"] = ""
    body = [json.dumps(r) for r in rows]
    body.insert(2, "")  # a blank line: row 6 sits on line 7
    (root / "train.jsonl").write_text("\n".join(body) + "\n")
    with pytest.raises(DataError, match=r"^train.jsonl:7: `output` is empty"):
        build(root)


def test_csv_rows_are_numbered_by_file_line_header_included(root: Path) -> None:
    import csv

    with (root / "train.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instruction", "input", "output"])
        w.writeheader()
        w.writerows([{**r, "output": "" if i == 3 else r["output"]} for i, r in enumerate(ROWS)])
    with pytest.raises(DataError, match=r"^train.csv:5: `output` is empty"):  # header on line 1, row 4 on line 5
        build(root, data="train.csv")


# ── finding F1: rows pyarrow's JSON reader would crash on (SIGSEGV) are refused first ──


@pytest.mark.parametrize(
    ("content", "line"),
    [("null\n", 1), ("null\n{}\n", 1), ('{"output": "a"}\n 7 \n', 2), ("{}\n\n[1]\n", 3), ('"x"\n', 1)],
)
def test_jsonl_rows_that_are_not_objects_name_their_line(root: Path, content: str, line: int) -> None:
    (root / "train.jsonl").write_text(content)
    with pytest.raises(DataError, match=rf"^train.jsonl:{line}: expected a JSON object per line"):
        build(root)


def test_a_line_of_non_json_whitespace_names_its_line(root: Path) -> None:
    # Python's str.strip() would call it blank; pyarrow does not, so it is not skipped.
    (root / "train.jsonl").write_text(json.dumps(ROWS[0]) + "\n\x0c\n" + json.dumps(ROWS[1]) + "\n")
    with pytest.raises(DataError, match=r"^train.jsonl:2: invalid JSON"):
        build(root)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[null, {}]", r"^train.json row 1: expected a JSON object, got null"),
        ('[{"output": "a"}, 3]', r"^train.json row 2: expected a JSON object, got a number"),
        ("7", r"^train.json: expected a JSON list of objects, got a number"),
        ("[]", r"^train.json: no rows"),
    ],
)
def test_json_files_must_hold_objects(root: Path, content: str, message: str) -> None:
    (root / "train.json").write_text(content)
    with pytest.raises(DataError, match=message):
        build(root, data="train.json")


def test_a_json_list_of_objects_still_loads(root: Path) -> None:
    (root / "train.json").write_text(json.dumps(ROWS[:3]))
    assert len(build(root, data="train.json").train) == 3
