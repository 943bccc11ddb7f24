"""The card's [training] table, typed key by key: cards written by a real `train` before it was
typed save back byte for byte with no key left untyped, older records and imports load, a
wrong type is refused naming the key, and a run's summary.json reads as the same record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from helpers import card_load_error, undeclared_keys

from adapterctl.core.errors import IntegrityError
from adapterctl.core.tomlread import tomllib
from adapterctl.train import runs
from adapterctl.versions import card as cards

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
# Written by `adapterctl train` on the tiny model (CPU) before [training] was typed key by key:
# `docs` with train.max_tokens_per_batch = 512 and padded batches (token_batches, a 4-bit
# precision note), `support` with padding-free batches (the batching probe and layout).
DOCS = FIXTURES / "57beb2231a727bb6a556ff1b285e9cda20e4f6eade437f08888af53f1d76872c.toml"
SUPPORT = FIXTURES / "b26fa5d499253b0ce891a4c3fed6c3c7c5ceb1f2ee0008bc02641d503c68710b.toml"
FULL_CARD = FIXTURES / "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e.toml"


@pytest.mark.parametrize("path", [DOCS, SUPPORT], ids=["docs", "support"])
def test_a_trained_card_saves_back_byte_for_byte_with_every_training_key_declared(path: Path) -> None:
    text = path.read_text()
    card = cards.load(path)
    assert cards.dump(card) == text
    assert undeclared_keys(card.training) == [], "a key the run writes has no typed field"
    t = card.training
    assert t.source is None and t.run_id and t.steps == t.planned_steps and t.world_size == 1
    assert t.quantization is not None and t.quantization.double_quant is True
    assert t.quantization.to_dict() == {
        "requested": "nf4",
        "used": "nf4",
        "double_quant": True,
        "compute_dtype": "float32",
    }
    assert t.trained_quantization() == "nf4"
    assert t.base is not None and t.base.model == "models/tiny-base" and t.base.device == "cpu"
    assert t.memory is not None and t.memory.peak is not None and t.memory.peak.device == "cpu"
    assert t.memory.peak.peak_rss_gb is not None and t.memory.peak.peak_rss_gb > 0
    assert t.launcher is not None and t.launcher.kind == "none" and t.launcher.num_processes == 1
    assert t.data is not None and t.data.train_rows == 900 and t.data.val_source == "val_split"
    assert t.data.prompt is None, "the prompt format is the card's own [prompt] table"
    assert t.attention is not None and t.attention.implementation == "sdpa"
    assert t.liger_kernel is False and t.notices == [] and t.loss_curve == "loss_curve.png"
    assert t.val_loss is not None and t.final_val_loss() == t.val_loss.final
    assert "history" not in t.without_history() and t.without_history()["steps"] == t.steps


def test_the_records_of_each_batching_mode_read_typed() -> None:
    docs, support = cards.load(DOCS).training, cards.load(SUPPORT).training
    assert docs.token_batches is not None and docs.token_batches.batches == 225
    assert docs.token_batches.mean_rows_per_batch == 4.0 and docs.token_batches.mean_tokens_per_batch == 446.7
    assert docs.memory is not None and docs.memory.max_tokens_per_batch == 512
    assert isinstance(docs.effective_batch, float), "4.0 stays 4.0 in the file"
    assert docs.precision is not None and docs.precision.startswith("float32 residual stream")
    assert docs.batching is not None and docs.batching.used == "padded" and docs.batching.verified is None
    assert support.token_batches is None and support.batching is not None and support.batching.verified is True
    assert support.batching.layout is not None and support.batching.layout.startswith("rows end to end")


def _card_with_training(tmp_path: Path, training: dict) -> Path:
    vid = "7a" * 32
    path = tmp_path / f"{vid}.toml"
    path.write_text(cards.dump({"schema_version": 2, "name": "s", "id": vid, "training": training}))
    return path


def test_an_imported_version_records_where_it_came_from(tmp_path: Path) -> None:
    keys = {"source": "import", "any_base": True, "from": "/tmp/x/ad", "declared_base": "org/renamed"}
    path = _card_with_training(tmp_path, keys)
    card = cards.load(path)
    assert card.training.from_ == "/tmp/x/ad" and card.training.declared_base == "org/renamed"
    assert cards.dump(card) == path.read_text()
    built = cards.Training(source="import", any_base=True, from_="/tmp/x/ad", declared_base="org/renamed")
    assert list(built.to_dict()) == list(keys), "built by field name, written in the order given"


def test_records_of_older_runs_load_typed(tmp_path: Path) -> None:
    """The first training runs recorded the seed, the libraries and the quantization under base."""
    path = _card_with_training(
        tmp_path,
        {
            "run_id": "r1",
            "seed": 42,
            "base": {"model": "m", "quantization": {"requested": "nf4", "used": "none", "notice": "no bnb"}},
            "libraries": {"torch": "2.1.0", "flash_attn": "2.0"},
            "launcher": {"kind": "none", "num_processes": 1},
            "future": {"k": 1},
        },
    )
    card = cards.load(path)
    assert cards.dump(card) == path.read_text()
    t = card.training
    assert t.seed == 42 and t.libraries is not None and t.libraries.torch == "2.1.0"
    assert t.base is not None and t.base.quantization is not None and t.base.quantization.used == "none"
    assert t.trained_quantization() == "unknown", "training.quantization itself was not recorded"
    assert t.get("future") == {"k": 1}, "a key a newer adapterctl writes is kept"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("planned_steps = 30", 'planned_steps = "30"', "training.planned_steps"),
        ("early_stopped = false", "early_stopped = 0", "training.early_stopped"),
        ('kind = "none"', "kind = 1", "training.launcher.kind"),
        ("train_rows = 900", "train_rows = 9.5", "training.data.train_rows"),
        ("peak_rss_gb = 0.69", 'peak_rss_gb = "lots"', "training.memory.peak.peak_rss_gb"),
        ('used = "padding_free"', "used = false", "training.batching.used"),
        ('    "batch size 8 chosen from free memory",', "    8,", "training.notices.0"),
    ],
)
def test_a_wrong_type_in_training_is_refused_naming_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path, message = card_load_error(FULL_CARD, tmp_path, old, new)
    assert "\n" not in message and message.startswith(f"{path}: invalid version card: {key}:"), message


def _run_with_summary(tmp_path: Path, summary: dict) -> runs.Run:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"id": "r1", "adapter": "s", "status": "trained"}))
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return runs.load(folder)


def test_a_runs_summary_reads_as_the_training_record_the_card_keeps(tmp_path: Path) -> None:
    training = tomllib.loads(DOCS.read_text())["training"]
    prompt = {"kind": "template", "source": "templates/docs.txt", "text": "Q: {question}\nA: "}
    summary = {
        **training,
        "data": {**training["data"], "prompt": prompt, "val_sha256": None},
        "resumed_from_step": None,
    }
    run = _run_with_summary(tmp_path, summary)
    record, moved = run.summary().for_card()
    assert moved is not None and moved.to_dict() == prompt
    # The card gets the summary less its prompt and its nulls, keys in the same order.
    assert tomli_w.dumps(record.to_dict()) == tomli_w.dumps(training)


def test_a_mistyped_summary_names_the_file_and_key(tmp_path: Path) -> None:
    run = _run_with_summary(tmp_path, {"run_id": "r1", "steps": 4, "memory": {"peak": {"peak_rss_gb": "a lot"}}})
    with pytest.raises(IntegrityError, match=r"summary\.json: invalid training record: memory\.peak\.peak_rss_gb"):
        run.summary()


def test_the_dashboard_shows_the_training_record_without_its_curve() -> None:
    from adapterctl.dashboard.detail import card_sections

    sections = card_sections(cards.load(DOCS))
    training = sections["training"]
    assert "history" not in training and training["quantization"]["used"] == "nf4"
    assert training["memory"]["peak"]["device"] == "cpu" and training["steps"] == 4
    assert sections["spec"]["lora.r"] == 16 and sections["base"]["model"] == "models/tiny-base"
    assert sections["libraries"]["torch"] and len(sections["files"]) >= 3
