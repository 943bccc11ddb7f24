"""Batching by tokens (`train.max_tokens_per_batch`): order, budget, determinism, and the same
version for the same seed through the real trainer on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FAST


def test_schema_documents_the_key_and_keeps_old_spec_hashes(example_project: Path) -> None:
    from adapterctl import manifest

    m = manifest.load(example_project / "adapterctl.toml")
    spec = m.adapter("support")
    assert spec.train.max_tokens_per_batch is None
    budgeted = m.adapter("support", manifest.parse_overrides(["train.max_tokens_per_batch=2048"]))
    assert budgeted.train.max_tokens_per_batch == 2048
    root = example_project
    assert manifest.spec_hash(spec, root) != manifest.spec_hash(budgeted, root)
    assert "max_tokens_per_batch" in manifest.canonical_json(spec.train.model_dump())
    hashed = manifest.weight_material(spec.to_dict())["train"]
    assert "max_tokens_per_batch" not in hashed, "unset, it leaves old hashes alone"
    assert manifest.weight_material(budgeted.to_dict())["train"]["max_tokens_per_batch"] == 2048
    with pytest.raises(Exception, match="max_tokens_per_batch"):
        m.adapter("support", manifest.parse_overrides(["train.max_tokens_per_batch=0"]))


@pytest.mark.slow
def test_token_budget_trains_with_steady_batches_and_the_same_version_for_the_same_seed(demo: Path, cli) -> None:
    from adapterctl import versions
    from adapterctl.core.project import Project

    budget = ["train.max_tokens_per_batch=700"]
    sets = [a for kv in [*FAST, *budget] for a in ("--set", kv)]
    first = cli("train", "--no-eval", "support", "--json", *sets, cwd=demo)
    second = cli("train", "--no-eval", "support", "--json", *sets, cwd=demo)
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    ids = [json.loads(r.stdout.strip().splitlines()[-1])["results"][0]["version"] for r in (first, second)]
    assert ids[0] == ids[1]
    t = versions.resolve(Project(demo), "support").card.training.to_dict()
    batches = t["token_batches"]
    assert batches["max_tokens_per_batch"] == 700 and batches["mean_tokens_per_batch"] <= 700
    assert batches["mean_rows_per_batch"] > 1
    assert t["memory"]["max_tokens_per_batch"] == 700 and t["memory"]["peak"]["device"] == "cpu"
    assert t["attention"]["implementation"] == "sdpa", "the CPU keeps the binned sdpa path"

    rows = cli("train", "--no-eval", "support", "--json", *[a for kv in FAST for a in ("--set", kv)], cwd=demo)
    assert rows.exit_code == 0, rows.stderr
    assert json.loads(rows.stdout.strip().splitlines()[-1])["results"][0]["version"] != ids[0], (
        "rows by tokens are other batches than rows by count"
    )


@pytest.mark.slow
def test_varlen_path_trains_end_to_end_on_the_cpu(train_unregistered, monkeypatch) -> None:
    """The GPU layout (one sequence per batch, a boundary-aware kernel) through the real trainer,
    with the exact row-by-row kernel standing in for the CUDA one."""
    monkeypatch.setenv("ADAPTERCTL_ATTENTION", "reference")
    [outcome] = train_unregistered(
        "support", overrides=["train.max_tokens_per_batch=600", "train.gradient_checkpointing=true"]
    )
    s = outcome.summary
    assert s["gradient_checkpointing"] is True, "row boundaries pass through checkpointed layers too"
    assert s["attention"]["implementation"] == "adapterctl_reference"
    assert s["batching"]["used"] == "padding_free" and s["batching"]["verified"] is True
    assert s["batching"]["layout"].startswith("one sequence per batch")
    assert s["val_loss"]["final"] < s["val_loss"]["first"]
