"""`adapterctl eval` on the real stack: tiny model, real training, real git and DVC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import loaded_version

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.evaluation import results
from adapterctl.store import environments, weights
from adapterctl.versions import card as cards
from tests.integration.eval.conftest import EVAL_ROWS, FAST, set_gates, train_fast

pytestmark = pytest.mark.slow


def test_eval_stores_results_beside_the_card_and_reuses_them(small_trained: tuple[Path, str], cli) -> None:
    small, vid = small_trained
    first = cli("eval", "support", "--json", cwd=small)
    assert first.exit_code == 1, first.stderr  # the example's rouge_l >= 0.2 is out of reach after 4 steps
    assert "eval gates failed: support@" in first.stderr and "rouge_l >= 0.2 (got" in first.stderr
    [e] = json.loads(first.stdout)
    assert e["rows"] == EVAL_ROWS and not e["cached"] and e["passed"] is False
    assert set(e["metrics"]) == {
        "rouge_l",
        "rouge1",
        "rouge2",
        "bleu",
        "chrf",
        "exact_match",
        "eval_loss",
        "perplexity",
    }
    assert e["vs_base"]["eval_loss"]["low"] <= e["vs_base"]["eval_loss"]["delta"] <= e["vs_base"]["eval_loss"]["high"]
    assert e["gates"]["results"][0] | {"value": None} == {
        "metric": "rouge_l",
        "rule": ">= 0.2",
        "value": None,
        "threshold": 0.2,
        "reference": "absolute",
        "passed": False,
        "note": "",
    }

    project = Project(small)
    version = versions.resolve(project, "support")
    entry = (version.card.metrics.evals or {})[e["key"]]
    assert entry.rows == EVAL_ROWS and entry.results == e["results"] and (small / e["results"]).is_file()
    assert version.card.metrics.scalars()["rouge_l"] == e["metrics"]["rouge_l"]
    assert version.card.gates.passed is False and version.card.gates.rules == {"rouge_l": ">= 0.2"}
    [check] = version.card.gates.checked
    assert (check.metric, check.verdict, check.threshold) == ("rouge_l", "FAIL", 0.2)
    # A trained, evaluated card (training, files, libraries, evals, gates) saves back byte for byte.
    assert cards.dump(cards.load(version.card_path)) == version.card_path.read_text()
    assert version.card.libraries.torch and version.card.files is not None and weights.WEIGHTS in version.card.files
    stored = results.read(small / e["results"])
    assert stored.subject == vid and len(stored.rows) == EVAL_ROWS
    assert all(r["output"] is not None and r["reference"] and "### Answer:" in r["prompt"] for r in stored.rows)
    assert (small / entry.baseline).is_file()

    again = cli("eval", "support", "--json", cwd=small)
    assert again.exit_code == 1 and json.loads(again.stdout)[0]["cached"] is True
    assert json.loads(again.stdout)[0]["metrics"] == e["metrics"]
    table = cli("eval", "support", cwd=small)
    assert "Δ vs base [95% CI]" in table.stdout and "rouge_l >= 0.2" in table.stdout and "FAIL" in table.stdout


def test_teacher_forced_loss_matches_the_model_loss_over_completion_tokens(small_trained: tuple[Path, str]) -> None:
    import torch

    from adapterctl.evaluation import runner

    small, _ = small_trained
    project = Project(small)
    [e] = runner.evaluate(project, ["support"])
    stored = results.read(small / e.results)
    row = stored.rows[0]
    with loaded_version(project, "support") as (model, tokenizer):
        prompt_ids = tokenizer(row["prompt"])["input_ids"]
        ids = tokenizer(row["prompt"] + row["reference"])["input_ids"] + [tokenizer.eos_token_id]
        labels = [-100] * len(prompt_ids) + ids[len(prompt_ids) :]
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
    assert row["loss"][1] == len(ids) - len(prompt_ids)
    assert row["loss"][0] / row["loss"][1] == pytest.approx(float(out.loss), rel=1e-4)


def test_gates_decide_deploy(small_trained: tuple[Path, str], cli, monkeypatch) -> None:
    small, _ = small_trained
    short = versions.resolve(Project(small), "support").short
    refused = cli("deploy", "support", "--env", "prod", cwd=small)
    assert refused.exit_code == 1
    assert (
        f"has eval gates but it has never been evaluated: run `adapterctl eval support@{short}` first" in refused.stderr
    )

    set_gates(small, 'rouge_l = ">= prod - 0.01"\neval_loss = "<= base"')
    result = cli("eval", "support", "--json", cwd=small)
    [e] = json.loads(result.stdout)
    checked = {g["metric"]: g for g in e["gates"]["results"]}
    assert checked["rouge_l"]["reference"] == "base" and e["notes"] == [
        "prod serves no support yet: compared with the base"
    ]
    assert "prod serves no support yet" in result.stderr
    assert checked["eval_loss"]["threshold"] == e["base_metrics"]["eval_loss"]
    assert result.exit_code == (0 if e["passed"] else 1)

    set_gates(small, 'rouge_l = ">= 1.01"')  # impossible: ROUGE is at most 1
    assert "gates changed since it was evaluated" in cli("deploy", "support", "--env", "prod", cwd=small).stderr
    failed = cli("eval", "support", cwd=small)
    assert failed.exit_code == 1 and "rouge_l >= 1.01" in failed.stdout
    refused = cli("deploy", "support", "--env", "prod", cwd=small)
    assert refused.exit_code == 1 and "failed its eval gates (rouge_l >= 1.01 (got" in refused.stderr

    forced = cli("deploy", "support", "--env", "prod", "--ignore-gates", "-m", "hotfix", cwd=small)
    assert forced.exit_code == 0, forced.stderr
    move = environments.load(Project(small))["prod"]["support"].moves[-1]
    assert move.forced is True and move.message.startswith("hotfix [forced: support@")


def test_train_evaluates_each_new_version_unless_told_not_to(small: Path, cli) -> None:
    sets = [arg for kv in FAST for arg in ("--set", kv)]
    result = cli("train", "support", *sets, cwd=small)
    assert result.exit_code == 1, result.stderr  # a failed gate exits 1, as the README's table says
    assert "eval on 8 rows" in result.stderr and "gates failed: rouge_l >= 0.2" in result.stderr
    assert "the version is registered, but deploy refuses it without --ignore-gates" in result.stderr
    assert versions.resolve(Project(small), "support").card.gates.passed is False
    result = cli("train", "support", *sets, "--set", "train.seed=3", "--no-eval", cwd=small)
    assert result.exit_code == 0 and "eval on" not in result.stderr
    assert versions.resolve(Project(small), "support").card.gates is None


def test_human_eval_sheet_round_trip(small_trained: tuple[Path, str], cli, tmp_path: Path) -> None:
    import csv

    small, first = small_trained
    train_fast(small, "train.seed=5")
    sheet = tmp_path / "out.csv"
    result = cli("sheet", "export", "support", str(sheet), cwd=small)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(sheet.open()))
    assert len(rows) == EVAL_ROWS and rows[0]["prompt"].startswith("### Instruction:")
    assert rows[0]["adapter_answer"] is not None and rows[0]["reference"] and rows[0]["adapter_style"] == ""
    for i, row in enumerate(rows):
        row.update(adapter_accuracy=str(1 + i % 5), adapter_style="4", base_safety="2")
    rows[3]["adapter_style"] = ""
    with sheet.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bad = tmp_path / "bad.csv"
    bad.write_text(sheet.read_text().replace(",4,", ",7,", 1))
    refused = cli("sheet", "import", "support", str(bad), cwd=small)
    assert refused.exit_code == 2 and "adapter_style is '7'; ratings are whole numbers 1-5" in refused.stderr
    assert cli("sheet", "import", "support", str(sheet), cwd=small).exit_code == 0
    summary = versions.resolve(Project(small), "support").card.metrics.human_eval
    assert summary is not None and summary.adapter is not None
    accuracy, style = summary.adapter["accuracy"], summary.adapter["style"]
    assert (accuracy.mean, accuracy.n) == (round(sum(1 + i % 5 for i in range(EVAL_ROWS)) / EVAL_ROWS, 3), EVAL_ROWS)
    assert (style.mean, style.n) == (4.0, EVAL_ROWS - 1)
    assert summary.base is not None and summary.base["safety"].mean == 2.0
    assert "safety" not in summary.adapter
    cli("eval", f"support@{first[:12]}", cwd=small)
    other = cli("sheet", "import", f"support@{first[:12]}", str(sheet), cwd=small)
    assert other.exit_code == 2 and "import it into the version it was exported for" in other.stderr
    diff = cli("diff", f"support@{first[:12]}", "support", "--format", "md", cwd=small).stdout
    assert "### Human ratings (1-5)" in diff and "| adapter | style | 4 | 7 |" in diff
