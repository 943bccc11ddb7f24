"""Manifest-declared combinations: `combine` instead of `data`, validated with key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError

HEAD = """
[base]
model = "models/tiny-base"

[adapters.support]
data = "data/support.jsonl"

[adapters.docs]
data = "data/docs.jsonl"
"""


def _load(tmp_path: Path, extra: str) -> manifest.Manifest:
    path = tmp_path / "adapterctl.toml"
    path.write_text(HEAD + extra)
    return manifest.load(path)


def test_a_combination_has_a_recipe_with_defaults_and_its_own_spec_hash(tmp_path: Path) -> None:
    m = _load(tmp_path, '\n[adapters.both]\ncombine = ["support", "docs"]\nmethod = "ties"\n')
    spec = m.adapter("both")
    assert spec.data is None
    assert spec.combine == manifest.CombineSpec(
        inputs=["support", "docs"], method="ties", weights=[1.0, 1.0], density=0.5
    )
    assert spec.to_dict()["combine"] == spec.combine.model_dump() and "combine" not in m.adapter("support").to_dict()
    other = _load(tmp_path, '\n[adapters.both]\ncombine = ["support", "docs"]\nmethod = "linear"\n')
    assert manifest.spec_hash(spec, tmp_path) != manifest.spec_hash(other.adapter("both"), tmp_path)
    assert m.adapter("support").combine is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[adapters.both]\ncombine = ["support", "nope"]\n', "adapters.both.combine: no adapter named 'nope'"),
        ('[adapters.both]\ncombine = ["support"]\n', "at least two different adapters"),
        ('[adapters.both]\ndata = "data/x.jsonl"\ncombine = ["support", "docs"]\n', "not both"),
        ('[adapters.both]\ncombine = ["support", "docs"]\nweights = [1.0]\n', "adapters.both.weights: give one weight"),
        ('[adapters.both]\ncombine = ["support", "docs"]\ndensity = 0.5\n', "adapters.both.density: only applies"),
        ('[adapters.both]\ndescription = "x"\n', "adapters.both.data: required key is missing"),
        (
            '[adapters.both]\ndata = "data/x.jsonl"\nmethod = "ties"\n',
            "adapters.both.method: only applies to a combination",
        ),
        (
            '[adapters.both]\ncombine = ["support", "docs"]\n[adapters.all]\ncombine = ["both", "docs"]\n',
            "'both' is itself a combination",
        ),
    ],
)
def test_bad_combinations_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace(".", r"\.").replace("(", r"\(")):
        _load(tmp_path, "\n" + extra)


def test_a_combination_spec_hashes_as_it_did_when_its_recipe_was_a_dict(tmp_path: Path) -> None:
    # Hashes computed before the recipe became manifest.CombineSpec: ints in `weights` and
    # `density` are read as floats, as they were, so a combination's spec hash is unchanged.
    m = _load(
        tmp_path,
        '\n[adapters.both]\ncombine = ["support", "docs"]\nmethod = "dare_ties"\nweights = [2, 0.5]\ndensity = 1\n'
        '\n[adapters.lin]\ncombine = ["support", "docs"]\n',
    )
    assert manifest.spec_hash(m.adapter("both"), tmp_path) == (
        "8ce58efe440e8a802d295aa0cf3cfbf2d44361e6cb9f4b47a2916222c4bd43c8"
    )
    assert manifest.spec_hash(m.adapter("lin"), tmp_path) == (
        "3be08babb4b2c0c1946728c169a3eab6118b880c60cba2d34e137e14dc52a2ca"
    )
    again = manifest.AdapterSpec.load(m.adapter("both").dump())  # run.json's round trip
    assert again.combine == m.adapter("both").combine and again.to_dict() == m.adapter("both").to_dict()
