"""`adapterctl data check`: every planted problem on its line, --json's shape, `data fix`, the
example project's data, severities from the manifest, the md5 cache, other file formats."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import planted_data as planted
import pytest

from adapterctl import api
from adapterctl.core.project import Project

REPO = Path(__file__).resolve().parents[3]


def lines_by_check(problems: list[dict], file: str = "data/train.jsonl") -> dict[str, set[int]]:
    found: dict[str, set[int]] = defaultdict(set)
    for p in problems:
        if p["file"] == file:
            found[p["check"]].add(p["line"])
    return dict(found)


@pytest.mark.slow
def test_every_planted_problem_is_reported_on_its_line(planted_project, cli) -> None:
    root, expected = planted_project
    result = cli("data", "check", "planted", "--json", cwd=root)
    assert result.exit_code == 1, result.stderr  # schema and leakage are errors
    report = json.loads(result.stdout)
    assert set(report) == {"problems", "summary"}
    for p in report["problems"]:
        assert list(p) == ["check", "severity", "file", "line", "message", "related_lines"]
        assert p["severity"] in ("error", "warning") and isinstance(p["line"], int) and p["message"]
    assert lines_by_check(report["problems"]) == expected
    assert not [p for p in report["problems"] if p["file"] != "data/train.jsonl"], "the eval file is clean"
    by_line = {(p["check"], p["line"]): p for p in report["problems"]}
    assert by_line[("leakage", 33)]["related_lines"] == [2] and by_line[("leakage", 33)]["severity"] == "error"
    assert by_line[("near_leakage", 34)]["related_lines"] == [3]
    assert by_line[("duplicate", 31)]["related_lines"] == [3]
    assert by_line[("near_duplicate", 32)]["related_lines"] == [5]
    assert by_line[("contradiction", 35)]["related_lines"] == [7]
    summary = report["summary"]
    assert summary["errors"] == 6 and not summary["passed"]
    assert summary["files"]["data/train.jsonl"] == {"role": "train", "format": "instruction", "rows": 52, "valid": 47}
    hist = summary["length"]["data/train.jsonl"]
    assert hist["max_length"] == 320 and hist["truncated"] == 1 and sum(b["rows"] for b in hist["histogram"]) == 47
    assert summary["tags"]["data/train.jsonl"]["counts"]["explian"] == 1


def test_text_output_groups_by_check_with_lines_and_excerpts(planted_no_length, cli) -> None:
    root, _ = planted_no_length
    result = cli("data", "check", "planted", "--limit", "0", cwd=root)
    assert result.exit_code == 1
    out = result.stdout
    assert out.index("schema (error): 5") < out.index("leakage (error): 1") < out.index("debris (warning): 5")
    assert "data/train.jsonl:33  the same prompt is in evals/eval.jsonl (line 2): 'Answer the question." in out
    assert "data/train.jsonl:43  not UTF-8 text" in out and "data/train.jsonl:42  not valid JSON" in out
    assert "j***@gmail.com" in out and "jane.doe" not in out, "personal data is masked"
    assert "planted: 6 errors, 16 warnings" in result.stderr and "Traceback" not in result.stderr
    limited = cli("data", "check", "planted", "--limit", "1", cwd=root).stdout
    assert "… and 4 more" in limited


def test_check_without_the_length_check_imports_no_heavy_library(planted_no_length) -> None:
    root, _ = planted_no_length
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "adapterctl", "data", "check", "planted"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**_env(), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert not loaded & {"torch", "transformers", "datasets", "peft", "trl"}
    assert "datasketch" in loaded and "ftfy" in loaded


@pytest.mark.slow
def test_fix_writes_a_copy_that_passes_and_records_every_change(planted_project, cli, tmp_path) -> None:
    root, expected = planted_project
    before = (root / "data/train.jsonl").read_bytes()
    assert cli("data", "check", "planted", cwd=root).exit_code == 1, "the input has errors"
    result = cli("data", "fix", "planted", "cleaned", cwd=root)
    assert result.exit_code == 0, result.stderr
    assert (root / "data/train.jsonl").read_bytes() == before, "the input is never changed"
    changes = [json.loads(line) for line in (root / "cleaned/fixes.jsonl").read_text().splitlines()]
    dropped = {c["line"] for c in changes if c["action"] == "dropped"}
    edited = {c["line"] for c in changes if c["action"] == "edited"}
    assert (
        dropped
        == expected["schema"]
        | expected["duplicate"]
        | expected["near_duplicate"]
        | expected["leakage"]
        | expected["near_leakage"]
    )
    assert edited == expected["debris"]
    cleaned = [json.loads(line) for line in (root / "cleaned/data/train.jsonl").read_text().splitlines()]
    assert len(cleaned) == 52 - len(dropped)
    assert any(r["output"].startswith("The café ") for r in cleaned), "mojibake repaired"
    assert not any("<p>" in r["output"] or "&amp;" in r["input"] or "ERROR" in r["output"] for r in cleaned)

    # The cleaned copy, put in place of the data in a fresh project, has no errors left.
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(root / "adapterctl.toml", again)
    shutil.copytree(root / "cleaned/data", again / "data")
    shutil.copytree(root / "cleaned/evals", again / "evals")
    check = cli("data", "check", "planted", "--json", cwd=again)
    assert check.exit_code == 0, check.stdout
    report = json.loads(check.stdout)
    assert report["summary"]["errors"] == 0
    left = {p["check"] for p in report["problems"]}
    assert left == {"contradiction", "length", "pii", "style", "tags"}, "what needs a person is left alone"


def test_fix_refuses_to_overwrite_the_input(planted_no_length, cli) -> None:
    root, _ = planted_no_length
    result = cli("data", "fix", "planted", ".", cwd=root)
    assert result.exit_code == 2 and "the input is never changed" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["support", "docs"])
def test_the_example_projects_data_passes(example_project: Path, cli, name: str) -> None:
    result = cli("data", "check", name, "--json", cwd=example_project)
    assert result.exit_code == 0, result.stdout[-3000:]
    summary = json.loads(result.stdout)["summary"]
    assert summary["errors"] == 0 and summary["passed"]
    assert summary["length"][f"data/{name}.jsonl"]["truncated"] == 0
    assert summary["files"][f"data/{name}.jsonl"]["valid"] == 1000


def test_severities_come_from_the_manifest(planted_no_length, cli) -> None:
    root, _ = planted_no_length
    manifest = root / "adapterctl.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('length = "off"', 'length = "off"\nschema = "warning"\nleakage = "warning"'))
    assert cli("data", "check", "planted", cwd=root).exit_code == 0
    manifest.write_text(manifest.read_text() + '\n[adapters.planted.data_checks]\nduplicate = "error"\npii = "off"\n')
    report = json.loads(cli("data", "check", "planted", "--json", cwd=root).stdout)
    assert {(p["check"], p["line"]) for p in report["problems"] if p["severity"] == "error"} == {("duplicate", 31)}
    assert not [p for p in report["problems"] if p["check"] == "pii"]
    assert report["summary"]["checks"]["pii"]["severity"] == "off"


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("[defaults.data]", 'leakage = "fatal"', "defaults.data.leakage: input should be 'error', 'warning' or 'off'"),
        (
            "[adapters.planted.data_checks]",
            "near_dup_threshold = 0.9",
            "adapters.planted.data_checks.near_dup_threshold: unknown key (did you mean 'near_duplicate_threshold'?)",
        ),
        ("[adapters.planted.data_checks]", 'style = "error"', "adapters.planted.data_checks.style"),
    ],
)
def test_bad_data_settings_exit_2_naming_the_key(tmp_path, cli, table, line, message) -> None:
    root = tmp_path / "p"
    planted.build(root, "models/none")
    (root / "adapterctl.toml").write_text((root / "adapterctl.toml").read_text() + f"\n{table}\n{line}\n")
    result = cli("data", "check", "planted", cwd=root)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_reports_are_cached_by_the_files_md5(planted_no_length) -> None:
    root, _ = planted_no_length
    project = Project(root)
    first = api.data_check(project, "planted")
    second = api.data_check(project, "planted")
    assert not first.cached and second.cached
    assert second.to_json() == first.to_json()
    data = root / "data/train.jsonl"
    data.write_bytes(data.read_bytes() + b'{"instruction": "x", "input": "y"}\n')
    third = api.data_check(project, "planted")
    assert not third.cached and max(p.line for p in third.problems if p.check == "schema") == 54


def test_csv_and_json_rows_are_numbered_as_in_the_file(tmp_path) -> None:
    from adapterctl.data.hygiene import rows

    csv_path = tmp_path / "d.csv"
    csv_path.write_bytes(b'instruction,input,output\nA,"two\nlines",ok\n\nB,x\nC,caf\xe9,z\nD,e,f\n')
    data = rows.read(csv_path, "d.csv", "train")
    assert [r.line for r in data.rows] == [2, 7]
    assert [(p.line, p.message) for p in data.unreadable] == [
        (5, "2 fields where the header has 3"),
        (6, "not UTF-8 text"),
    ]
    json_path = tmp_path / "d.json"
    json_path.write_text('[{"output": "a"}, 3]')
    data = rows.read(json_path, "d.json", "train")
    assert data.unit == "row" and [r.line for r in data.rows] == [1] and data.unreadable[0].line == 2


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_train_gate_skips_a_missing_held_out_file_that_data_check_requires(planted_no_length) -> None:
    from adapterctl import manifest
    from adapterctl.core.errors import DataError
    from adapterctl.data.hygiene import gate

    root, _ = planted_no_length
    (root / "evals/eval.jsonl").unlink()
    project = Project(root)
    with pytest.raises(DataError, match="evals/eval.jsonl: file not found"):
        api.data_check(project, "planted")
    m = manifest.load(root / "adapterctl.toml")
    with pytest.raises(DataError, match="schema at data/train.jsonl lines 42, 43, 44, 45, 46") as refused:
        gate.for_training(project, m.adapter("planted"), m.base)
    assert "leakage" not in str(refused.value), "no held-out file, no leakage check"


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_an_empty_training_file_is_called_empty_not_one_row(planted_no_length, cli, content) -> None:
    root, _ = planted_no_length
    (root / "data/train.jsonl").write_text(content)
    result = cli("data", "check", "planted", cwd=root)
    assert result.exit_code == 1
    assert "data/train.jsonl: empty (no rows)" in result.stdout and "1 rows" not in result.stdout
    assert "data/train.jsonl:1  the file has no rows" in result.stdout
    report = json.loads(cli("data", "check", "planted", "--json", cwd=root).stdout)
    assert report["summary"]["files"]["data/train.jsonl"]["rows"] == 0
