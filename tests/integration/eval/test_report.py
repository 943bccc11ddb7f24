"""The review half end to end in a real git repository: train, eval, deploy, branch, train
again, then `report --base main` (also from a fresh clone without a DVC cache), `check`
and `diff --format md`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.eval.conftest import git, set_gates

pytestmark = pytest.mark.slow


def _edit_first_row(root: Path) -> str:
    path = root / "data/support.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    row = json.loads(lines[0])
    row["output"] = row["output"] + " Thanks for your patience."
    lines[0] = json.dumps(row) + "\n"
    path.write_text("".join(lines))
    return row["input"]


def test_report_diff_and_check_on_a_branch(small: Path, trained, cli, tmp_path: Path) -> None:
    set_gates(small, 'rouge_l = ">= 0"\neval_loss = "<= base"')
    trained()
    assert cli("eval", "support", cwd=small).exit_code == 0
    deployed = cli("deploy", "support", "--env", "prod", "-m", "v1", cwd=small)
    assert deployed.exit_code == 0, deployed.stderr
    git(small, "add", "-A")
    git(small, "commit", "-qm", "support v1 in prod")

    git(small, "checkout", "-qb", "lr-sweep")
    edited_input = _edit_first_row(small)
    trained("train.learning_rate=2e-2")
    unevaluated = cli("check", "--base", "main", cwd=small)
    assert unevaluated.exit_code == 1 and "never been evaluated: run `adapterctl eval support@" in unevaluated.stderr
    cli("eval", "support", cwd=small)
    git(small, "add", "-A")
    git(small, "commit", "-qm", "support v2: higher learning rate")

    result = cli("report", "--base", "main", "--format", "md", cwd=small)
    assert result.exit_code == 0, result.stderr
    md = result.stdout
    assert "this branch vs `main`" in md and "compared with" in md and "prod = support@" in md
    assert "| `train.learning_rate` | 0.005 | 0.02 |" in md  # the spec change
    assert "### Gates" in md and "| rouge_l | `>= 0` |" in md and "| eval_loss | `<= base` |" in md
    assert "95% paired-bootstrap intervals over 8 eval rows" in md
    metric_rows = [line for line in md.splitlines() if line.startswith(("| rouge_l |", "| eval_loss |", "| chrf |"))]
    assert any(
        line.count("[") == 1 and line.split("|")[6].strip() in ("better", "worse", "noise") for line in metric_rows
    )
    assert (
        "#### Top regressions" in md and "**Reference**" in md and "### Instruction:" in md
    )  # a regression, with texts
    assert "| train | data/support.jsonl | 200 | 200 | changed |" in md  # data change summary from the cards
    assert "```mermaid" in md and "val loss" in md

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "lr-sweep", str(small), str(clone)], check=True)
    git(clone, "branch", "main", "origin/main")
    assert not (clone / ".dvc/cache").exists() and not list(clone.glob("adapters/support/*/adapter_model.safetensors"))
    again = cli("report", "--base", "main", "--md", cwd=clone)  # the spelling older scaffolded workflows use
    assert again.exit_code == 0, again.stderr
    assert again.stdout == md

    page = tmp_path / "report.html"
    assert cli("report", "--base", "main", "--html", str(page), cwd=clone).exit_code == 0
    assert "data:image/png;base64," in page.read_text() and "train.learning_rate" in page.read_text()
    assert cli("check", "--base", "main", cwd=clone).exit_code == 0
    as_json = json.loads(cli("report", "--base", "main", "--json", cwd=clone).stdout)
    [adapter] = as_json["adapters"]
    assert (
        adapter["name"] == "support" and ["train.learning_rate", 0.005, 0.02] in adapter["comparison"]["spec_changes"]
    )
    assert adapter["comparison"]["a"]["rows"] == 8 and adapter["comparison"]["a"]["label"].startswith("prod = support@")

    diff = cli("diff", "support@prod", "support", "--format", "md", cwd=small)
    assert diff.exit_code == 0, diff.stderr
    d = diff.stdout
    assert "### Weights (ΔW = scale·B·A per module)" in d and "| `model.layers.0.self_attn.q_proj` |" in d
    assert "train `data/support.jsonl`: 0 rows added, 0 removed, 1 changed" in d
    assert "Thanks for your patience." in d and edited_input in d

    set_gates(small, 'rouge_l = ">= 1.01"')
    cli("eval", "support", cwd=small)
    failing = cli("check", "--base", "main", cwd=small)
    assert failing.exit_code == 1 and "failed its gates: rouge_l >= 1.01" in failing.stderr
