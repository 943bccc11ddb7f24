"""`train` runs `data check` first: leaked eval rows refuse training (exit 2, nothing registered);
--allow-data-errors trains anyway and the card records the check and the override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FAST

from adapterctl import versions
from adapterctl.core.project import Project


def sets(*assignments: str) -> list[str]:
    return [arg for a in assignments for arg in ("--set", a)]


@pytest.mark.slow
def test_leakage_refuses_training_and_force_records_the_override(demo: Path, cli) -> None:
    train = demo / "data/support.jsonl"
    evals = (demo / "evals/support.jsonl").read_text().splitlines()
    rows = train.read_text().splitlines()
    train.write_text(
        "\n".join([*rows[:10], evals[3], *rows[10:], evals[0]]) + "\n"
    )  # lines 11 and 202 leak (the fixture keeps 4 eval rows)

    refused = cli("train", "support", *sets(*FAST), cwd=demo)
    assert refused.exit_code == 2
    assert "leakage at data/support.jsonl lines 11, 202" in refused.stderr, refused.stderr
    assert "--allow-data-errors" in refused.stderr and "Traceback" not in refused.stderr
    project = Project(demo)
    assert versions.log(project, "support") == []
    assert not (project.state_dir / "runs").exists() or not any((project.state_dir / "runs").iterdir())

    forced = cli("train", "support", "--allow-data-errors", "--no-eval", *sets(*FAST), cwd=demo)
    assert forced.exit_code == 0, forced.stderr
    assert "training despite 2 data-check errors (--allow-data-errors)" in forced.stderr
    [version] = versions.log(project, "support")
    record = version.card.data_check
    assert record.forced is True and record.passed is False
    assert record.errors == 2 and record.problems["leakage"] == 2


@pytest.mark.slow
def test_deep_and_huge_rows_are_named_by_data_check_and_train_force(demo: Path, cli) -> None:
    train = demo / "data/support.jsonl"
    rows = train.read_text().splitlines()
    deep = '{"instruction": "x", "output": ' + "[" * 5000 + "]" * 5000 + "}"
    huge = json.dumps({"instruction": "x" * 2_000_000, "output": "y"})
    train.write_text("\n".join([*rows[:5], deep, *rows[5:9], huge, *rows[9:]]) + "\n")

    check = cli("data", "check", "support", "--json", cwd=demo)
    assert check.exit_code == 1 and "Traceback" not in check.stderr
    found = {(p["line"], p["message"].split(";")[0]) for p in json.loads(check.stdout)["problems"]}
    assert (6, "nested deeper than 64 levels") in found
    size = len(huge) + 1  # with its newline
    assert (11, f"row of {size:,} bytes is over data_checks.max_row_bytes (1,048,576)") in found

    forced = cli("train", "support", "--allow-data-errors", *sets(*FAST), cwd=demo)
    assert forced.exit_code == 2, forced.stderr
    assert "data/support.jsonl:6: nested deeper than 64 levels" in forced.stderr
    assert versions.log(Project(demo), "support") == []
