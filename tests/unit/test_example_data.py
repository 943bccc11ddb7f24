"""The example project's generated data: sizes, shape, no leaks, reproducible."""

from __future__ import annotations

import importlib.util
import json
import string
from pathlib import Path

import pytest

from adapterctl.core.tomlread import tomllib

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example-project"
ADAPTERS = ("support", "docs")
KEYS = {"instruction", "input", "output"}


def load_generator():
    # scripts/ is not a package; load the script by path.
    spec = importlib.util.spec_from_file_location("make_example", REPO / "scripts" / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def row_key(row: dict) -> tuple[str, str, str]:
    return row["instruction"], row["input"], row["output"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example")
    load_generator().main(out)
    return out


@pytest.mark.parametrize("name", ADAPTERS)
def test_row_counts_and_keys(name):
    train = read_rows(EXAMPLE / "data" / f"{name}.jsonl")
    evals = read_rows(EXAMPLE / "evals" / f"{name}.jsonl")
    assert len(train) >= 360
    assert len(evals) >= 72
    for row in train + evals:
        assert set(row) == KEYS
        assert all(isinstance(row[k], str) and row[k].strip() for k in KEYS)
        assert len(row["output"]) <= 200


@pytest.mark.parametrize("split", ["data", "evals"])
@pytest.mark.parametrize("name", ADAPTERS)
def test_no_duplicates_within_a_file(name, split):
    rows = read_rows(EXAMPLE / split / f"{name}.jsonl")
    assert len({row_key(r) for r in rows}) == len(rows)


@pytest.mark.parametrize("name", ADAPTERS)
def test_eval_rows_do_not_repeat_train_rows(name):
    train = read_rows(EXAMPLE / "data" / f"{name}.jsonl")
    evals = read_rows(EXAMPLE / "evals" / f"{name}.jsonl")
    assert not {row_key(r) for r in train} & {row_key(r) for r in evals}
    # Stronger: no eval prompt is a train prompt, so the eval measures generalisation.
    prompts = {(r["instruction"], r["input"]) for r in train}
    assert not [r for r in evals if (r["instruction"], r["input"]) in prompts]


@pytest.mark.parametrize("name", ADAPTERS)
def test_template_placeholders_are_row_keys(name):
    template = (EXAMPLE / "templates" / f"{name}.txt").read_text(encoding="utf-8")
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    assert fields and fields <= KEYS
    assert "output" not in fields  # the trainer appends the completion
    row = read_rows(EXAMPLE / "evals" / f"{name}.jsonl")[0]
    assert row["input"] in template.format(**row)


def test_manifest_points_at_existing_files():
    manifest = tomllib.loads((EXAMPLE / "adapterctl.toml").read_text(encoding="utf-8"))
    assert manifest["base"]["model"] == "models/tiny-base"
    assert set(manifest["adapters"]) == set(ADAPTERS)
    for spec in manifest["adapters"].values():
        for key in ("data", "eval_data", "template"):
            assert (EXAMPLE / spec[key]).is_file(), spec[key]
        assert spec["gates"]["rouge_l"].startswith(">=")


def test_covers_many_products_and_tools():
    generator = load_generator()
    assert len(generator.DEVICES) + len(generator.PLANS) >= 12
    assert len(generator.TOOLS) >= 12


def test_generator_is_deterministic(generated, tmp_path):
    load_generator().main(tmp_path)
    first = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (generated / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_committed_example_matches_the_generator(generated):
    # Catches a generator edit without rerunning `python scripts/make_example.py`.
    for path in generated.rglob("*"):
        if path.is_file():
            rel = path.relative_to(generated)
            assert (EXAMPLE / rel).read_bytes() == path.read_bytes(), f"{rel} is stale"
