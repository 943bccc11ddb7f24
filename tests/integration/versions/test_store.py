"""Registering versions: ids, cards, the log, import checks. Real PEFT adapters, real DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adapterctl import api, manifest, versions
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.core.tomlread import tomllib
from adapterctl.store import weights


def test_import_two_adapters_then_log_lists_both_newest_first(project: Path, adapters: list[Path], cli) -> None:
    first = cli("import", "support", str(adapters[0]), "-m", "first", "--json", cwd=project)
    assert first.exit_code == 0, first.stderr
    second = cli("import", "support", str(adapters[1]), "-m", "second", "--json", cwd=project)
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert one["new"] and two["new"] and one["id"] != two["id"]

    result = cli("log", "support", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["id"] for e in entries] == [two["id"], one["id"]]
    assert [e["message"] for e in entries] == ["second", "first"]
    assert entries[0]["parent"] == one["id"] and entries[1]["parent"] == ""
    assert entries[0]["short"] == two["id"][:12] and entries[0]["environments"] == []

    table = cli("log", "support", cwd=project)
    assert two["id"][:12] in table.stdout and "second" in table.stdout


def test_version_folder_card_and_dvc_file(project: Path, adapters: list[Path]) -> None:
    p = Project(project)
    v = versions.import_folder(p, "support", adapters[0], message="hello")
    assert len(v.id) == 64 and v.path == p.adapters_dir / "support" / v.id
    assert sorted(f.name for f in v.path.iterdir()) == [weights.CONFIG, weights.WEIGHTS]
    assert (v.path.parent / f"{v.id}.dvc").is_file()
    assert not (v.path.parent / ".gitignore").exists()  # the root pattern keeps DVC off it
    assert weights.content_id(v.path) == v.id

    config = json.loads((v.path / weights.CONFIG).read_text())
    assert config["base_model_name_or_path"] == "models/tiny-base"  # not the builder's absolute path
    assert config["target_modules"] == sorted(config["target_modules"])

    card = tomllib.loads(v.card_path.read_text())
    assert card == v.card.to_dict()
    for key in (
        "name",
        "id",
        "parent",
        "created",
        "message",
        "git_commit",
        "spec_hash",
        "seed",
        "spec",
        "base",
        "data",
        "libraries",
        "training",
        "metrics",
    ):
        assert key in card, key
    assert card["created"].endswith("Z") and card["message"] == "hello" and card["parent"] == ""
    assert card["data"]["train"] == {
        "path": "data/support.jsonl",
        "md5": _dvc_md5(project / "data/support.jsonl.dvc"),
        "rows": len((project / "data/support.jsonl").read_text().splitlines()),
    }
    assert card["data"]["eval"]["rows"] == len((project / "evals/support.jsonl").read_text().splitlines())
    assert card["base"]["model"] == "models/tiny-base" and len(card["base"]["hash"]) == 64
    assert len(card["base"]["tokenizer_hash"]) == 64
    assert set(card["libraries"]) == {"torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets"}
    assert card["training"]["source"] == "import" and card["seed"] == 42
    assert card["spec"]["lora"]["r"] == 4  # the adapter's own rank, not the manifest's 16
    assert len(card["git_commit"]) == 40


def _dvc_md5(dvc_file: Path) -> str:
    return next(line.split(":", 1)[1].strip() for line in dvc_file.read_text().splitlines() if "md5:" in line)


def test_same_content_twice_is_a_no_op(project: Path, adapters: list[Path], cli) -> None:
    p = Project(project)
    v = versions.import_folder(p, "support", adapters[0])
    card_text = v.card_path.read_text()
    again = cli("import", "support", str(adapters[0]), "--json", cwd=project)
    assert again.exit_code == 0 and isinstance(json.loads(again.stdout), dict)
    assert json.loads(again.stdout)["new"] is False and json.loads(again.stdout)["id"] == v.id
    assert v.card_path.read_text() == card_text
    assert len(versions.log(p, "support")) == 1


def test_id_ignores_set_order_and_peft_version_but_not_tensors(
    project: Path, adapters: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(adapters[0], copy)
    config = json.loads((copy / weights.CONFIG).read_text())
    config["target_modules"] = list(reversed(config["target_modules"]))
    config["peft_version"] = "0.0.1"
    (copy / weights.CONFIG).write_text(json.dumps(config))
    assert weights.content_id(copy) == weights.content_id(adapters[0])
    config["lora_alpha"] = 99
    (copy / weights.CONFIG).write_text(json.dumps(config))
    assert weights.content_id(copy) != weights.content_id(adapters[0])
    assert weights.content_id(adapters[0]) != weights.content_id(adapters[1])


def test_register_for_training_records_spec_summary_extras(project: Path, adapters: list[Path], tmp_path: Path) -> None:
    p = Project(project)
    spec = manifest.load(p.manifest_path).adapter("support")
    plot = tmp_path / "loss_curve.png"
    plot.write_bytes(b"\x89PNG fake")
    v = versions.register(
        p,
        "support",
        adapters[2],
        spec=spec,
        message="trained",
        training={"steps": 30, "train_loss": 1.25, "best_step": None},
        extra_files=[plot],
        card_extra={"run_id": "run-7"},
    )
    assert (v.path / "loss_curve.png").read_bytes() == b"\x89PNG fake"
    assert v.card.training.to_dict() == {"steps": 30, "train_loss": 1.25}  # TOML has no null
    assert v.card.extra("run_id") == "run-7" and v.card.metrics.to_dict() == {}
    assert v.card.spec.lora.r == 16 and v.card.spec_hash == manifest.spec_hash(spec, project)
    assert versions.resolve(p, "support").id == v.id


def test_show_prints_the_card_for_a_ref_and_the_spec_with_latest_for_a_name(
    project: Path, adapters: list[Path], cli
) -> None:
    v = versions.import_folder(Project(project), "support", adapters[0], message="m1")
    card = json.loads(cli("show", f"support@{v.id[:8]}", "--json", cwd=project).stdout)
    assert card["id"] == v.id and card["message"] == "m1" and card["local"] is True
    spec = json.loads(cli("show", "support", "--json", cwd=project).stdout)
    assert spec["latest"] == v.id and spec["lora"]["r"] == 16
    assert spec["data_checks"]["leakage"] == "error"  # the data-check settings travel with the spec
    human = cli("show", "support@~0", cwd=project)
    assert human.exit_code == 0 and f"support@{v.id[:12]}" in human.stdout and "[spec.lora]" in human.stdout
    assert json.loads(cli("show", "docs", "--json", cwd=project).stdout)["latest"] is None


def test_import_refuses_pickles_wrong_shapes_and_another_base(
    project: Path, adapters: list[Path], tmp_path: Path, cli
) -> None:
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(adapters[0] / weights.CONFIG, pickled)
    (pickled / "adapter_model.bin").write_bytes(b"not really a pickle")
    result = cli("import", "support", str(pickled), cwd=project)
    assert result.exit_code == 2 and "pickled weights are never loaded" in result.stderr

    other = tmp_path / "other-base"
    shutil.copytree(adapters[0], other)
    config = json.loads((other / weights.CONFIG).read_text())
    config["base_model_name_or_path"] = "meta-llama/Llama-3.1-8B"
    (other / weights.CONFIG).write_text(json.dumps(config))
    result = cli("import", "support", str(other), cwd=project)
    assert result.exit_code == 2 and "meta-llama/Llama-3.1-8B" in result.stderr and "--any-base" in result.stderr
    assert cli("import", "support", str(other), "--any-base", cwd=project).exit_code == 0

    wide = tmp_path / "wide"
    _write_adapter(
        wide,
        {
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": (4, 96),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": (64, 4),
        },
    )
    result = cli("import", "support", str(wide), cwd=project)
    assert result.exit_code == 3 and "does not fit base" in result.stderr and "q_proj" in result.stderr

    missing = tmp_path / "missing-module"
    _write_adapter(missing, {"base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight": (4, 64)})
    result = cli("import", "support", str(missing), cwd=project)
    assert result.exit_code == 3 and "no module model.layers.9.self_attn.q_proj" in result.stderr

    result = cli("import", "nope", str(adapters[0]), cwd=project)
    assert result.exit_code == 2 and "no adapter named 'nope'" in result.stderr
    assert len(versions.log(Project(project), "support")) == 1  # only the --any-base one


def _write_adapter(folder: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir()
    save_file({k: np.ones(s, dtype=np.float32) for k, s in shapes.items()}, str(folder / weights.WEIGHTS))
    (folder / weights.CONFIG).write_text(
        json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "base_model_name_or_path": "models/tiny-base"})
    )


def test_log_of_unknown_or_untrained_adapter_is_a_clear_error(project: Path, cli) -> None:
    result = cli("log", "suport", cwd=project)
    assert result.exit_code == 2 and "did you mean 'support'" in result.stderr
    result = cli("log", "docs", cwd=project)
    assert result.exit_code == 2 and "no versions yet" in result.stderr


def test_api_import_reports_new_then_existing(project: Path, adapters: list[Path]) -> None:
    p = Project(project)
    assert api.import_adapter(p, "docs", adapters[3]).new is True
    assert api.import_adapter(p, "docs", adapters[3]).new is False
    with pytest.raises(UsageError):
        api.import_adapter(p, "docs", project / "no-such-folder")
