"""`adapterctl combine` and manifest-declared combinations on the real stack: trained example
adapters, PEFT add_weighted_adapter, DVC-tracked versions, `status` and `train` rebuilding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from merge_helpers import BASE

from adapterctl import api, versions
from adapterctl.core.errors import IntegrityError, UsageError
from adapterctl.core.project import Project

pytestmark = pytest.mark.slow


def _quick_training(project: Path) -> None:
    """The example manifest, trained for 2 steps on a full-precision base (seconds, not minutes)."""
    path = project / "adapterctl.toml"
    text = path.read_text().replace('quantization = "nf4"', 'quantization = "none"\nmax_steps = 2\neval_steps = 1')
    path.write_text(
        text + '\n[adapters.both]\ndescription = "support and docs"\ncombine = ["support", "docs"]\n'
        'method = "ties"\ndensity = 0.5\n'
    )


def test_ties_combination_of_the_example_adapters(project: Path, cli) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    _quick_training(project)
    assert cli("train", "--no-eval", "support", "docs", cwd=project).exit_code == 0
    p = Project(project)
    support, docs = versions.resolve(p, "support"), versions.resolve(p, "docs")

    result = cli("combine", "support", "docs", "--into", "both", "--method", "ties", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    both = versions.resolve(p, "both")
    assert data["id"] == both.id and data["declared"]
    assert both.card.parents == [f"support@{support.id}", f"docs@{docs.id}"]
    assert both.card.parent == ""  # the first version of `both`
    assert both.card.combine is not None and both.card.combine.method == "ties" and both.card.combine.density == 0.5
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(project / BASE), str(both.path))
    assert model.peft_config["default"].r == json.loads((support.path / "adapter_config.json").read_text())["r"]
    assert {r.name: r.state for r in api.status(p)}["both"] == "up to date"

    # A new version of one input makes the combination stale; `train --all-stale` rebuilds only it.
    manifest_path = project / "adapterctl.toml"
    manifest_path.write_text(manifest_path.read_text() + "\n[adapters.support.train]\nseed = 7\n")
    assert cli("train", "--no-eval", "support", cwd=project).exit_code == 0
    rows = {r.name: r for r in api.status(p)}
    assert rows["support"].state == rows["docs"].state == "up to date"
    assert rows["both"].state == "stale"
    assert any("input support has a new version" in reason for reason in rows["both"].reasons)
    rebuilt = cli("train", "--no-eval", "--all-stale", "--json", cwd=project)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    done = json.loads(rebuilt.stdout.strip().splitlines()[-1])
    assert [r["adapter"] for r in done["results"]] == ["both"]
    newest = versions.resolve(p, "both")
    assert newest.id != both.id and newest.parent == both.id
    assert newest.card.parents[0] == f"support@{versions.resolve(p, 'support').id}"
    assert {r.name: r.state for r in api.status(p)}["both"] == "up to date"


def test_combine_refuses_adapters_trained_on_different_bases(project: Path, import_variant) -> None:
    from adapterctl.tiny import build_tiny_model

    first = import_variant("support", seed=1)
    build_tiny_model(project / BASE, seed=5)  # other weights under the same name
    second = import_variant("docs", seed=2)
    with pytest.raises(IntegrityError, match="different bases"):
        api.combine(Project(project), [first, second], "both", method="linear")
    assert not versions.log(Project(project), "both")


def test_combine_refuses_incompatible_targets_and_ranks(project: Path, import_variant) -> None:
    p = Project(project)
    q_only = import_variant("support", seed=1, target_modules=["q_proj"])
    v_only = import_variant("docs", seed=2, target_modules=["v_proj"])
    with pytest.raises(UsageError, match="no module in common"):
        api.combine(p, [q_only, v_only], "both")
    r4 = import_variant("support", seed=3)
    r8 = import_variant("docs", seed=4, r=8)
    with pytest.raises(UsageError, match="needs equal ranks"):
        api.combine(p, [r4, r8], "both", method="ties")
    cat = api.combine(p, [r4, r8], "mix", method="cat")  # cat stacks ranks: 4 + 8
    assert cat.r == 12 and not cat.declared


def test_combine_refuses_dora_inputs(project: Path, import_variant) -> None:
    a = import_variant("support", seed=1, use_dora=True)
    b = import_variant("docs", seed=2)
    with pytest.raises(UsageError, match="DoRA"):
        api.combine(Project(project), [a, b], "both")


def test_combining_into_a_trained_adapter_is_refused(project: Path, import_variant) -> None:
    a = import_variant("support", seed=1)
    b = import_variant("docs", seed=2)
    with pytest.raises(UsageError, match="is a version of support|trained adapter"):
        api.combine(Project(project), [a, b], "support")
