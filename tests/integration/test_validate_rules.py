"""`adapterctl validate` rejects the cross-field mistakes that `train` would reject (manifest/rules.py):
exit 2, one line naming the file, the line and the key path where the value is set."""

from __future__ import annotations

from pathlib import Path

import pytest

MANIFEST = """\
[base]
model = "models/tiny-base"

[defaults.train]
eval_steps = 2
{defaults}

[adapters.support]
data = "data/support.jsonl"

[adapters.support.lora]
{lora}

[adapters.support.train]
{train}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/support.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    return tmp_path


def validate(cli, root: Path, *, defaults: str = "", lora: str = "", train: str = ""):
    text = MANIFEST.format(defaults=defaults, lora=lora, train=train)
    (root / "adapterctl.toml").write_text(text)
    return cli("validate", cwd=root), text.splitlines()


def line_of(lines: list[str], needle: str) -> int:
    return next(n for n, line in enumerate(lines, start=1) if line.startswith(needle))


@pytest.mark.parametrize(
    ("lora", "train", "needle"),
    [
        ('init_lora_weights = "pissa"', 'quantization = "nf4"', "pissa needs a full-precision base"),
        ('init_lora_weights = "pissa"', "", 'train.quantization is "nf4"'),  # nf4 is the default
        ('init_lora_weights = "loftq"', 'quantization = "int8"', "loftq initialises against a 4-bit base"),
        ('init_lora_weights = "loftq"', 'quantization = "none"', "loftq initialises against a 4-bit base"),
    ],
)
def test_init_method_against_quantisation(cli, project: Path, lora: str, train: str, needle: str) -> None:
    result, lines = validate(cli, project, lora=lora, train=train)
    assert result.exit_code == 2, result.output
    line = line_of(lines, "init_lora_weights")
    assert f"adapterctl.toml:{line}: adapters.support.lora.init_lora_weights: " in result.output
    assert needle in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("lora", "train"),
    [
        ('init_lora_weights = "pissa"', 'quantization = "none"'),
        ('init_lora_weights = "loftq"', 'quantization = "nf4"'),
        ('init_lora_weights = "olora"', 'quantization = "nf4"'),
    ],
)
def test_compatible_init_methods_validate(cli, project: Path, lora: str, train: str) -> None:
    result, _ = validate(cli, project, lora=lora, train=train)
    assert result.exit_code == 0, result.output


def test_checkpoint_steps_must_be_a_multiple_of_eval_steps_with_early_stopping(cli, project: Path) -> None:
    result, lines = validate(cli, project, train="early_stopping_patience = 2\ncheckpoint_steps = 3")
    assert result.exit_code == 2, result.output
    line = line_of(lines, "checkpoint_steps")
    assert (
        f"adapterctl.toml:{line}: adapters.support.train.checkpoint_steps: checkpoint_steps = 3 must be a "
        "multiple of train.eval_steps = 2" in result.output
    )
    # Without early stopping any checkpoint interval is fine, and a multiple is fine with it.
    assert validate(cli, project, train="checkpoint_steps = 3")[0].exit_code == 0
    assert validate(cli, project, train="early_stopping_patience = 2\ncheckpoint_steps = 4")[0].exit_code == 0


def test_early_stopping_needs_a_validation_set(cli, project: Path) -> None:
    # Set in [defaults.train]: the error points at the defaults table's line.
    result, lines = validate(cli, project, defaults="early_stopping_patience = 3\nval_split = 0.0")
    assert result.exit_code == 2, result.output
    line = line_of(lines, "early_stopping_patience")
    assert (
        f"adapterctl.toml:{line}: defaults.train.early_stopping_patience: early_stopping_patience needs "
        "val loss" in result.output
    )
    # A val_data file is a validation set too.
    (project / "data/val.jsonl").write_text('{"prompt": "c", "completion": "d"}\n')
    text = MANIFEST.format(defaults="early_stopping_patience = 3\nval_split = 0.0", lora="", train="")
    text = text.replace('data = "data/support.jsonl"', 'data = "data/support.jsonl"\nval_data = "data/val.jsonl"')
    (project / "adapterctl.toml").write_text(text)
    assert cli("validate", cwd=project).exit_code == 0


def test_set_overrides_are_checked_against_the_rules(project: Path) -> None:
    from adapterctl import manifest
    from adapterctl.core.errors import ManifestError

    validate_text = MANIFEST.format(defaults="", lora="", train="")
    (project / "adapterctl.toml").write_text(validate_text)
    m = manifest.load(project / "adapterctl.toml")
    overrides = manifest.parse_overrides(['lora.init_lora_weights="pissa"'])
    with pytest.raises(ManifestError, match=r"^--set lora.init_lora_weights: pissa needs a full-precision base"):
        m.adapter("support", overrides)
