"""Manifest schema, validation errors (key path + line), resolution and spec_hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError

GOOD = """\
# a comment that must not matter
[project]
name = "demo"

[base]
model = "models/tiny-base"

[defaults.lora]
r = 16

[defaults.train]
learning_rate = 2e-4

[adapters.support]
data = "data/support.jsonl"
template = "templates/support.txt"

[adapters.support.lora]
r = 8

[adapters.support.gates]
rouge_l = ">= 0.3"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/support.jsonl").write_text('{"instruction": "a", "input": "", "output": "b"}\n')
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/support.txt").write_text("{instruction}\n{input}\n")
    (tmp_path / "adapterctl.toml").write_text(GOOD)
    return tmp_path


def load_text(root: Path, text: str) -> manifest.Manifest:
    (root / "adapterctl.toml").write_text(text)
    return manifest.load(root / "adapterctl.toml")


def error_for(root: Path, text: str) -> str:
    with pytest.raises(ManifestError) as info:
        m = load_text(root, text)
        problems = manifest.check_files(m)
        if problems:
            raise ManifestError(problems[0])
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    return message


def test_defaults_and_overrides_resolve(project: Path) -> None:
    m = manifest.load(project / "adapterctl.toml")
    spec = m.adapter("support")
    assert spec.lora.r == 8  # adapter override wins
    assert spec.lora.alpha == 32  # schema default
    assert spec.train.learning_rate == 2e-4  # [defaults.train]
    assert spec.gates == {"rouge_l": ">= 0.3"}
    over = m.adapter("support", manifest.parse_overrides(["lora.r=4", "train.learning_rate=1e-3"]))
    assert (over.lora.r, over.train.learning_rate) == (4, 1e-3)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("r = 8", "rnak = 8"), "adapterctl.toml:19: adapters.support.lora.rnak: unknown key (did you mean 'r'?)"),
        (("r = 8", "r = -4"), "adapterctl.toml:19: adapters.support.lora.r: input should be greater than 0"),
        (
            ("learning_rate = 2e-4", 'learning_rate = "2e-4"'),
            "adapterctl.toml:12: defaults.train.learning_rate: input should be a valid number",
        ),
        (("[adapters.support]", "[adapters.support"), "adapterctl.toml:14: invalid TOML"),
        (("[adapters.support]", '[adapters."../evil"]'), "invalid adapter name '../evil'"),
        (
            ("data/support.jsonl", "data/missing.jsonl"),
            "adapterctl.toml:15: adapters.support.data: file data/missing.jsonl does not exist",
        ),
        (("[defaults.lora]", "[defaults.lorra]"), "defaults.lorra: unknown key (did you mean 'lora'?)"),
        (('rouge_l = ">= 0.3"', 'rouge_l = "high"'), "adapters.support.gates.rouge_l: 'high': write a gate as"),
        (("[project]", "[projct]"), "projct: unknown table (did you mean 'project'?)"),
        (('model = "models/tiny-base"', "model = 3"), "base.model: input should be a valid string"),
    ],
)
def test_bad_manifests_name_the_key(project: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    assert expected in error_for(project, GOOD.replace(old, new, 1))


def test_spec_hash_ignores_formatting_comments_and_order(project: Path) -> None:
    a = manifest.load(project / "adapterctl.toml")
    reordered = GOOD.replace("# a comment that must not matter\n", "").replace(
        'data = "data/support.jsonl"\ntemplate = "templates/support.txt"',
        'template   =   "templates/support.txt"   # moved\ndata = "data/support.jsonl"',
    )
    b = load_text(project, reordered)
    assert manifest.spec_hash(a.adapter("support"), project) == manifest.spec_hash(b.adapter("support"), project)


def test_spec_hash_changes_with_spec_and_template(project: Path) -> None:
    m = manifest.load(project / "adapterctl.toml")
    before = manifest.spec_hash(m.adapter("support"), project)
    assert manifest.spec_hash(m.adapter("support", {"lora": {"r": 4}}), project) != before
    (project / "templates/support.txt").write_text("{instruction}\n")
    assert manifest.spec_hash(m.adapter("support"), project) != before


def test_gates_and_description_do_not_change_spec_hash(project: Path) -> None:
    m = manifest.load(project / "adapterctl.toml")
    before = manifest.spec_hash(m.adapter("support"), project)
    edited = load_text(
        project,
        GOOD.replace('">= 0.3"', '">= 0.5"').replace("[adapters.support]\n", '[adapters.support]\ndescription = "x"\n'),
    )
    assert manifest.spec_hash(edited.adapter("support"), project) == before


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("lora.rank=4", "--set lora.rank: unknown key (did you mean 'r'?)"),
        ("lr=1", "write TABLE.KEY=VALUE"),
        ("trian.seed=1", "unknown table 'trian' (did you mean 'train'?)"),
    ],
)
def test_bad_overrides(assignment: str, expected: str) -> None:
    with pytest.raises(ManifestError, match=None) as info:
        manifest.parse_overrides([assignment])
    assert expected in str(info.value)


def test_override_value_is_validated_with_its_origin(project: Path) -> None:
    m = manifest.load(project / "adapterctl.toml")
    with pytest.raises(ManifestError, match=r"--set train\.learning_rate: input should be a valid number"):
        m.adapter("support", manifest.parse_overrides(["train.learning_rate=fast"]))


def test_override_values_are_toml() -> None:
    parsed = manifest.parse_overrides(['lora.target_modules=["q_proj", "v_proj"]', "train.quantization=none"])
    assert parsed == {"lora": {"target_modules": ["q_proj", "v_proj"]}, "train": {"quantization": "none"}}


@pytest.mark.parametrize("name", ["support", "docs-v2", "a_b", "X1"])
def test_good_adapter_names(name: str) -> None:
    manifest.check_adapter_name(name)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "-x", "a b", "a" * 65, "a@b", ".."])
def test_bad_adapter_names(name: str) -> None:
    with pytest.raises(ManifestError):
        manifest.check_adapter_name(name)


def test_every_schema_field_is_documented() -> None:
    models = [
        manifest.ProjectSection,
        manifest.BaseSection,
        manifest.LoraSpec,
        manifest.TrainSpec,
        manifest.EvalSpec,
        manifest.Defaults,
        manifest.AdapterSection,
    ]
    undocumented = [f"{m.__name__}.{k}" for m in models for k, f in m.model_fields.items() if not f.description]
    assert undocumented == []


def test_a_spec_dumps_and_loads_itself_data_checks_included(project: Path) -> None:
    text = GOOD + '\n[adapters.support.data_checks]\npii = "error"\nnear_duplicate_threshold = 0.9\n'
    spec = load_text(project, text).adapter("support", manifest.parse_overrides(["train.learning_rate=1e-3"]))
    dumped = spec.dump()
    assert dumped["data_checks"]["pii"] == "error" and dumped["data_checks"]["schema"] == "error"
    assert "data_checks" not in spec.to_dict()  # the card's [spec] and the hash stay as they were
    again = manifest.AdapterSpec.load(json.loads(json.dumps(dumped)))  # as run.json stores it
    assert again == spec
    assert manifest.spec_hash(again, project) == manifest.spec_hash(spec, project)


def test_one_definition_of_what_changed(project: Path) -> None:
    m = load_text(project, GOOD)
    old = m.adapter("support").to_dict()
    new = load_text(project, GOOD.replace("r = 8", "r = 4")).adapter("support").to_dict()
    new_desc = {**old, "description": "changed"}
    everything = [(c.key, c.old, c.new) for c in manifest.spec_changes(old, new_desc)]
    assert everything == [("description", "", "changed")]
    assert manifest.spec_changes(old, new_desc, weights_only=True) == []  # how it is judged is not the version
    changed = manifest.spec_changes(old, new, weights_only=True)
    assert [(c.key, c.old, c.new) for c in changed] == [("lora.r", 8, 4)]
    # the hash moves exactly when the weight material does
    assert manifest.weight_material(old) != manifest.weight_material(new)
    assert manifest.weight_material(old) == manifest.weight_material(new_desc)
