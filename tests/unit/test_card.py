"""The typed version card: cards written before `schema_version` load, round trips keep
every key, and bad cards fail with the file and key named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import card_load_error

from adapterctl.core.errors import IntegrityError, MergeConflict
from adapterctl.core.tomlread import tomllib
from adapterctl.versions import card as cards

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
# Written by adapterctl before the card had a model (`schema = 1`): an imported version
# with eval metrics and failed gates recorded by record_metrics.
OLD_CARD = FIXTURES / "fdbb76b1093a3a913cd81a1408261b0d064690038aa155f02dcd19c3cf075eb8.toml"
# Written (schema 2) by adapterctl before libraries, files, gates.checked, human ratings, sweep
# params and the spec's tables were typed: every table at once (no real version has them all).
# Its training.memory.peak was once a number no adapterctl wrote; it is the table train writes.
FULL_CARD = FIXTURES / "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e.toml"


def test_a_card_written_by_the_old_code_loads() -> None:
    card = cards.load(OLD_CARD)
    assert card.schema_version == 1 and card.name == "support" and card.short == "fdbb76b1093a"
    assert card.base.model == "models/tiny-base" and len(card.base.hash) == 64
    assert card.data.train is not None and card.data.train.rows == 1000 and card.data.val is None
    assert card.data.role("eval").path == "evals/support.jsonl"
    assert card.training.source == "import" and card.training.from_ == "/tmp/oldcard/ad"
    assert card.metrics.to_dict() == {"rouge_l": 0.12, "val": {"loss": 2.5}} and card.metrics.evals is None
    assert card.gates is not None and card.gates.passed is False and card.gates.failed == ["rouge_l >= 0.3"]
    assert card.spec.lora.r == 4 and card.seed == 42 and card.eval is None


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
    assert card.scalar_metrics() == {"val.loss": 2.5, "rouge_l": 0.5, "exact": 1}  # a sheet's row count is no metric
    assert card.metrics.human_eval is not None and card.metrics.human_eval.adapter is not None
    assert card.metrics.human_eval.adapter["accuracy"] == cards.CriterionScore(mean=3.2, n=4)
    assert card.sweep is not None and card.sweep.best is True and card.sweep.candidate == 2
    assert card.combine is not None and card.combine.inputs[0].name == "a" and card.combine.density == 0.5
    assert card.spec.lora.to_dict() == {"r": 4} and card.spec.eval.samples == 3
    assert card.spec.combine is not None and card.spec.combine.method == "ties"


def test_a_mistyped_eval_entry_names_the_key(tmp_path: Path) -> None:
    vid = "cd" * 32
    data = _rich_card(vid)
    data["metrics"]["evals"]["k1"]["rows"] = "many"
    path = tmp_path / f"{vid}.toml"
    path.write_text(cards.dump(data))
    with pytest.raises(IntegrityError, match=r"metrics\.evals\.k1\.rows"):
        cards.load(path)


def test_a_card_with_every_table_saves_back_byte_for_byte() -> None:
    text = FULL_CARD.read_text()
    card = cards.load(FULL_CARD)
    assert cards.dump(card) == text  # typing the tables moved no line and changed no value
    assert card.libraries.torch == "2.13.0+cpu" and card.libraries.bitsandbytes == ""
    assert card.files is not None and len(card.files) == 4 and "sub/link" in card.files
    assert card.files.names()[0] == "README.md" and card.files.digest("adapter_config.json") == "22" * 32
    assert card.files.digest("absent") is None
    assert card.gates is not None and card.gates.eval_key == "k1"
    rouge, exact, chrf = card.gates.checked
    assert isinstance(rouge, cards.GateCheck) and rouge.passed and rouge.reference == "base"
    assert not exact.passed and exact.threshold == 0.5
    assert chrf.value is None and chrf.threshold == 30.5 and chrf.note.startswith("chrf was not computed")
    ratings = card.human_eval()
    assert ratings is not None and ratings.sheet == "rate.csv" and ratings.base is not None
    assert ratings.adapter is not None and ratings.adapter["tone"] == cards.CriterionScore(mean=4, n=19)
    assert isinstance(ratings.adapter["tone"].mean, int)  # `mean = 4` stays 4, not 4.0
    assert card.sweep is not None and card.sweep.params["lora.target_modules"] == ["q_proj", "v_proj"]
    assert card.sweep.params["lora.use_dora"] is True and card.sweep.params["lora.r"] == 8
    assert card.spec.lora.target_modules == ["q_proj", "v_proj"] and card.spec.lora.alpha == 16
    assert card.spec.train.max_steps == 30 and card.spec.train.learning_rate == 0.0001
    assert card.spec.eval.metrics == ["rouge_l", "exact_match", "val_loss"] and card.spec.eval.samples == 3
    assert card.spec.combine is not None and card.spec.combine.inputs == ["a", "b"]
    assert card.spec.combine.weights == [1.0, 0.5] and card.spec.combine.density == 0.5
    assert card.training.val_loss is not None and card.training.val_loss.final == 2.31
    assert card.training.history is not None and card.training.history[0] == cards.LossPoint(step=0, val_loss=3.2)
    assert card.loss_history()[-1] == {"step": 30, "loss": 2.1, "val_loss": 2.31}
    quantization = card.training.quantization  # typed, keeping a key no adapterctl declares as written
    assert quantization is not None and quantization.used is None and quantization.get("mode") == "none"


def test_an_old_card_loads_unchanged_with_keys_this_version_does_not_know(tmp_path: Path) -> None:
    text = (
        FULL_CARD.read_text()
        .replace('datasets = "5.2.0"\n', 'datasets = "5.2.0"\nflash_attn = "3.1.0"\n')
        .replace('verdict = "pass"\n', 'verdict = "pass"\nmargin = 0.29\n')
    )
    path = tmp_path / FULL_CARD.name
    path.write_text(text)
    card = cards.load(path)
    assert cards.dump(card) == text
    assert card.libraries.get("flash_attn") == "3.1.0" and card.gates is not None
    assert card.gates.checked[0].get("margin") == 0.29


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('torch = "2.13.0+cpu"', "torch = 2", "libraries.torch"),
        ('datasets = "5.2.0"', 'datasets = "5.2.0"\nflash_attn = 3', "libraries.flash_attn"),
        ('"adapter_config.json" = "2222', '"adapter_config.json" = 2222 #', "files.adapter_config.json"),
        ("threshold = 0.12", 'threshold = "low"', "gates.checked.0.threshold"),
        ('metric = "exact_match"', "metric = 5", "gates.checked.1.metric"),
        ("mean = 3.85", 'mean = "good"', "metrics.human_eval.adapter.correct.mean"),
        ("n = 19", "n = [19]", "metrics.human_eval.adapter.tone.n"),
        ('"lora.r" = 8', '"lora.r" = { x = 1 }', "sweep.params.lora.r"),
        ("r = 8\nalpha", 'r = "eight"\nalpha', "spec.lora.r"),
        ("max_steps = 30", "max_steps = true", "spec.train.max_steps"),
        ("samples = 3", "samples = 2.5", "spec.eval.samples"),
        ("final = 2.31", 'final = "low"', "training.val_loss.final"),
        ("{ step = 10,", '{ step = "ten",', "training.history.1.step"),
        ('inputs = [\n    "a",', "inputs = [\n    1,", "spec.combine.inputs.0"),
    ],
)
def test_each_typed_table_refuses_a_wrong_type_naming_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path, message = card_load_error(FULL_CARD, tmp_path, old, new)
    assert "\n" not in message and message.startswith(f"{path}: invalid version card: {key}:"), message


def _untyped(annotation: object, where: str, seen: set[type]) -> list[str]:
    """Where under `annotation` a dict or list holds Any (or no type at all)."""
    import dataclasses
    import typing

    from pydantic import BaseModel

    if annotation is typing.Any:
        return [where]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (dict, list) or (origin in (dict, list) and not args):
        return [where]
    out = [p for arg in args for p in _untyped(arg, where, seen)]
    if isinstance(annotation, type) and annotation not in seen:
        seen.add(annotation)
        if issubclass(annotation, BaseModel):
            for name, f in annotation.model_fields.items():
                out += _untyped(f.annotation, f"{annotation.__name__}.{name}", seen)
        elif dataclasses.is_dataclass(annotation):
            hints = typing.get_type_hints(annotation)
            out += [
                p
                for f in dataclasses.fields(annotation)
                for p in _untyped(hints[f.name], f"{annotation.__name__}.{f.name}", seen)
            ]
    return out


def test_no_field_of_a_card_a_pointer_or_a_training_job_is_an_untyped_dict() -> None:
    from adapterctl.store.environments import Pointer
    from adapterctl.train.job import TrainJob

    assert _untyped(cards.Card, "Card", set()) == []
    assert _untyped(Pointer, "Pointer", set()) == []
    assert _untyped(TrainJob, "TrainJob", set()) == []


def test_the_spec_tables_declare_every_key_the_manifest_has() -> None:
    from adapterctl.manifest.schema import EvalSpec, LoraSpec, TrainSpec

    assert list(cards.LoraRecord.model_fields) == list(LoraSpec.model_fields)
    assert list(cards.TrainRecord.model_fields) == list(TrainSpec.model_fields)
    assert list(cards.EvalSettings.model_fields) == list(EvalSpec.model_fields)
