"""The typed version card: cards written before `schema_version` load, round trips keep
every key, and bad cards fail with the file and key named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapterctl.errors import IntegrityError, MergeConflict
from adapterctl.tomlread import tomllib
from adapterctl.versions import card as cards

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
# Written by adapterctl before the card had a model (`schema = 1`): an imported version
# with eval metrics and failed gates recorded by record_metrics.
OLD_CARD = FIXTURES / "fdbb76b1093a3a913cd81a1408261b0d064690038aa155f02dcd19c3cf075eb8.toml"


def test_a_card_written_by_the_old_code_loads() -> None:
    card = cards.load(OLD_CARD)
    assert card.schema_version == 1 and card.name == "support" and card.short == "fdbb76b1093a"
    assert card.base.model == "models/tiny-base" and len(card.base.hash) == 64
    assert card.data.train is not None and card.data.train.rows == 1000 and card.data.val is None
    assert card.data.role("eval").path == "evals/support.jsonl"
    assert card.training.source == "import" and card.training.get("from") == "/tmp/oldcard/ad"
    assert card.metrics.to_dict() == {"rouge_l": 0.12, "val": {"loss": 2.5}} and card.metrics.evals is None
    assert card.gates is not None and card.gates.passed is False and card.gates.failed == ["rouge_l >= 0.3"]
    assert card.spec.lora["r"] == 4 and card.seed == 42 and card.eval is None


def test_an_old_card_round_trips_with_only_the_schema_key_renamed() -> None:
    before = tomllib.loads(OLD_CARD.read_text())
    after = tomllib.loads(cards.dump(cards.load(OLD_CARD)))
    assert after.pop("schema_version") == before.pop("schema") == 1
    assert after == before


def test_new_cards_carry_the_schema_version_and_keep_unknown_keys(tmp_path: Path) -> None:
    vid = "ab" * 32
    path = tmp_path / f"{vid}.toml"
    path.write_text(
        cards.dump(
            {
                "schema_version": cards.SCHEMA_VERSION,
                "name": "s",
                "id": vid,
                "run_id": "run-7",
                "future_table": {"k": 1},
                "eval": {"rows": 3},
                "training": {"steps": 2, "train_loss": None},
            }
        )
    )
    card = cards.load(path)
    assert card.schema_version == 2 and card.extra("run_id") == "run-7"
    assert card.eval is not None and card.eval.to_dict() == {"rows": 3}
    assert card.training.steps == 2 and card.training.to_dict() == {"steps": 2}  # TOML has no null
    assert tomllib.loads(cards.dump(card))["future_table"] == {"k": 1}


def test_a_card_whose_id_is_not_its_file_name_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / ("cd" * 32 + ".toml")
    shutil.copyfile(OLD_CARD, wrong)
    with pytest.raises(IntegrityError, match="does not match its file name"):
        cards.load(wrong)


def test_a_mistyped_key_names_the_file_and_key(tmp_path: Path) -> None:
    vid = "ef" * 32
    path = tmp_path / f"{vid}.toml"
    path.write_text(f'name = "s"\nid = "{vid}"\n[gates]\npassed = "maybe"\n')
    with pytest.raises(IntegrityError, match=r"ef+\.toml: invalid version card: gates.passed"):
        cards.load(path)


def test_a_merge_conflict_in_a_card_gets_a_hint(tmp_path: Path) -> None:
    vid = "0a" * 32
    path = tmp_path / f"{vid}.toml"
    path.write_text(f'<<<<<<< HEAD\nid = "{vid}"\n=======\n')
    with pytest.raises(MergeConflict, match="merge conflict"):
        cards.load(path)


def _rich_card(vid: str) -> dict:
    """A card with every typed table filled, keys in the order the writers give them."""
    return {
        "schema_version": cards.SCHEMA_VERSION,
        "name": "s",
        "id": vid,
        "metrics": {
            "val": {"loss": 2.5},
            "rouge_l": 0.5,
            "exact": 1,
            "evals": {
                "k1": {
                    "eval_data": "evals/s.jsonl",
                    "eval_md5": "m",
                    "rows": 4,
                    "limit": 0,
                    "max_new_tokens": 32,
                    "created": "2026-12-01T00:00:00Z",
                    "seconds": 1.5,
                    "results": "adapters/s/x.jsonl",
                    "metrics": {"rouge_l": 0.5, "exact": 1},
                    "baseline": "adapters/s/base.jsonl",
                }
            },
            "human_eval": {"adapter": {"accuracy": {"mean": 3.2, "n": 4}}, "rows": 4},
        },
        "sweep": {
            "id": "sw1",
            "candidate": 2,
            "of": 3,
            "params": {"train.learning_rate": 0.001},
            "rank": 1,
            "best": True,
        },
        "combine": {"inputs": [{"name": "a", "id": "1"}], "method": "ties", "weights": [1.0, 0.5], "density": 0.5},
        "spec": {"combine": {"method": "ties"}, "name": "s", "lora": {"r": 4}, "train": {}, "eval": {"samples": 3}},
    }


def test_every_card_table_is_typed_and_reads_back_byte_for_byte(tmp_path: Path) -> None:
    vid = "ab" * 32
    text = cards.dump(_rich_card(vid))
    path = tmp_path / f"{vid}.toml"
    path.write_text(text)
    card = cards.load(path)
    assert cards.dump(card) == text  # typing a table moved no line
    entry = card.evals()["k1"]
    assert isinstance(entry, cards.EvalEntry) and entry.rows == 4 and entry.metrics == {"rouge_l": 0.5, "exact": 1}
    assert isinstance(entry.metrics["exact"], int)  # a whole number stays an int in the file
    assert card.metrics.scalars() == {"val": {"loss": 2.5}, "rouge_l": 0.5, "exact": 1}
    assert card.metrics.human_eval is not None and card.metrics.human_eval.adapter == {
        "accuracy": {"mean": 3.2, "n": 4}
    }
    assert card.sweep is not None and card.sweep.best is True and card.sweep.candidate == 2
    assert card.combine is not None and card.combine.inputs[0].name == "a" and card.combine.density == 0.5
    assert card.spec.lora == {"r": 4} and card.spec.eval == {"samples": 3}
    # no field of the card is an untyped table
    untyped = [n for n, f in cards.Card.model_fields.items() if "dict[str, Any]" in str(f.annotation)]
    assert untyped == []


def test_a_mistyped_eval_entry_names_the_key(tmp_path: Path) -> None:
    vid = "cd" * 32
    data = _rich_card(vid)
    data["metrics"]["evals"]["k1"]["rows"] = "many"
    path = tmp_path / f"{vid}.toml"
    path.write_text(cards.dump(data))
    with pytest.raises(IntegrityError, match=r"metrics\.evals\.k1\.rows"):
        cards.load(path)
