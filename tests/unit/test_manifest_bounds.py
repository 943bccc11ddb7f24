"""Issue 8, item 1: values the libraries would choke on (a traceback deep in numpy, itertools
or the Trainer) are bounded in the schema, so `validate` and `--set` name the key instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError

MANIFEST = """\
[base]
model = "models/tiny-base"

[adapters.support]
data = "data/support.jsonl"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/support.jsonl").write_text('{"instruction": "a", "output": "b"}\n')
    (tmp_path / "adapterctl.toml").write_text(MANIFEST)
    return tmp_path


@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("train.batch_size=99999999999999999999999", "train.batch_size"),  # islice: ValueError
        ("train.seed=1099511627776", "train.seed"),  # 2**40: numpy's seed range is 32-bit
        ("train.max_length=1", "train.max_length"),  # no room for an answer: KeyError eval_loss
        ("train.max_steps=99999999999999999999", "train.max_steps"),
        ("eval.batch_size=99999999999999999999", "eval.batch_size"),
        ("eval.max_new_tokens=10000000", "eval.max_new_tokens"),  # issue 17: generated for 300 s
    ],
)
def test_out_of_range_set_values_name_the_key(root: Path, assignment: str, key: str) -> None:
    m = manifest.load(root / "adapterctl.toml")
    with pytest.raises(ManifestError, match=rf"--set {key.split('.')[0]}.*{key.split('.')[1]}"):
        m.adapter("support", manifest.parse_overrides([assignment]))


def test_out_of_range_manifest_value_fails_validation_with_its_line(root: Path) -> None:
    (root / "adapterctl.toml").write_text(MANIFEST + "\n[adapters.support.train]\nseed = 1099511627776\n")
    with pytest.raises(ManifestError, match=r"adapterctl.toml:8: adapters.support.train.seed: .*less than or equal"):
        manifest.load(root / "adapterctl.toml")


def test_values_at_the_bounds_are_accepted(root: Path) -> None:
    m = manifest.load(root / "adapterctl.toml")
    spec = m.adapter("support", manifest.parse_overrides(["train.seed=4294967295", "train.max_length=2"]))
    assert spec.train.seed == 2**32 - 1 and spec.train.max_length == 2
