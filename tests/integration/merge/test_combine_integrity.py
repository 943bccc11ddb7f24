"""`combine` never makes a broken version: non-finite or all-zero weights are bad input, a result
whose values overflow is refused before it is registered, and inputs must sit on the base
their cards record (issue 16, items 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from merge_helpers import BASE

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.store import fingerprints
from adapterctl.tiny import build_tiny_model


@pytest.mark.parametrize(
    ("given", "expected"),
    [("nan,1", "--weights: nan is not a finite number"), ("1,inf", "--weights: inf is not a finite number")]
    + [("-inf,1", "--weights: -inf is not a finite number"), ("0,0", "every weight is 0")],
)
def test_combine_refuses_non_finite_and_all_zero_weights(
    project: Path, import_variant, cli, given: str, expected: str
) -> None:
    a, b = import_variant("support", seed=1), import_variant("docs", seed=2)
    result = cli("combine", a, b, "--into", "both", "--weights", given, cwd=project)
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert not versions.log(Project(project), "both")


@pytest.mark.slow
def test_combine_checks_its_own_output_before_registering(project: Path, import_variant, cli) -> None:
    """1e308 is a finite weight, but the combined tensors overflow to infinity (or NaN)."""
    a, b = import_variant("support", seed=1), import_variant("docs", seed=2)
    result = cli("combine", a, b, "--into", "both", "--weights", "1e308,1e308", cwd=project)
    assert result.exit_code == 3, result.output
    assert f"combine result (linear of {a}, {b})" in result.stderr and "NaN or infinite values" in result.stderr
    assert not versions.log(Project(project), "both")
    assert not list((project / ".adapterctl" / "combine").glob("*/*"))
    ok = cli("combine", a, b, "--into", "both", "--weights", "0.5,0.5", "--json", cwd=project)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["new"] is True


def test_combine_refuses_inputs_whose_base_changed_since(project: Path, import_variant, cli) -> None:
    a, b = import_variant("support", seed=1), import_variant("docs", seed=2)
    build_tiny_model(project / BASE, seed=5)
    recorded = versions.resolve(Project(project), a).card.base.hash
    here = fingerprints.model_hashes(project / BASE, fingerprints.FileCache(Project(project)))[0]
    result = cli("combine", a, b, "--into", "both", cwd=project)
    assert result.exit_code == 3, result.output
    assert recorded in result.stderr and here in result.stderr and recorded != here
    assert not versions.log(Project(project), "both")
