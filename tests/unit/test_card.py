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
    assert card.metrics == {"rouge_l": 0.12, "val": {"loss": 2.5}}
    assert card.gates is not None and card.gates.passed is False and card.gates.failed == ["rouge_l >= 0.3"]
    assert card.spec["lora"]["r"] == 4 and card.seed == 42 and card.eval is None


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
    assert card.schema_version == 2 and card.extra("run_id") == "run-7" and card.eval == {"rows": 3}
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
