"""The CI workflow `init` scaffolds: a valid GitHub Actions workflow that installs the project's
pinned adapterctl, runs validate, report and check, and fires on a change to any path the code
manages; `--ci-requirement` sets what it installs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from adapterctl import __version__
from adapterctl.core.errors import UsageError
from adapterctl.ops import ci_workflow


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[dev]'")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True
    )


def test_workflow_validates_against_the_github_workflow_schema(tmp_path: Path) -> None:
    workflow = tmp_path / "adapters.yml"
    workflow.write_text(ci_workflow.render_workflow())
    result = _check_jsonschema(workflow)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # the check does catch a mistake
    broken.write_text(workflow.read_text().replace("runs-on:", "runs_on:"))
    assert _check_jsonschema(broken).returncode == 1


def test_workflow_installs_the_pin_and_runs_the_gates() -> None:
    flow = yaml.safe_load(ci_workflow.render_workflow())
    steps = flow["jobs"]["review"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert f"pip install -r {ci_workflow.REQUIREMENTS}" in runs
    assert not any("pip install adapterctl" in r for r in runs)  # never unpinned
    assert 'adapterctl report --base "$BASE" --format md > adapterctl-report.md' in runs
    assert runs[-1] == 'adapterctl check --base "$BASE"'
    sticky = next(s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert sticky["with"]["path"] == "adapterctl-report.md"
    assert flow["permissions"]["pull-requests"] == "write"


def github_paths_match(pattern: str, path: str) -> bool:
    """GitHub's paths filter: `**` crosses folders (`**/` may match none), `*` stays in one."""
    parts = [re.escape(p).replace(r"\*", "[^/]*") for p in pattern.split("**")]
    rx = parts[0]
    for part in parts[1:]:
        rx += f"(?:.*/)?{part[1:]}" if part.startswith("/") else f".*{part}"
    return re.fullmatch(rx, path) is not None


def test_github_paths_matcher() -> None:
    assert github_paths_match("**/*.dvc", "models/tiny-base.dvc") and github_paths_match("**/*.dvc", "x.dvc")
    assert github_paths_match("adapters/**", "adapters/support/abc.toml")
    assert not github_paths_match("adapters/**", "adaptersx/a") and not github_paths_match("data/*", "data/a/b")


def test_workflow_fires_on_every_managed_path() -> None:
    paths = yaml.safe_load(ci_workflow.render_workflow())[True]["pull_request"]["paths"]  # YAML reads `on` as True
    assert paths == ci_workflow.managed_paths()
    for expected in ("adapterctl.toml", "environments/**", "adapters/**", "data/**", "evals/**", "templates/**"):
        assert expected in paths
    assert "adapterctl.lock" not in paths  # the old single-file environments are gone
    for changed in ("environments/prod/support.toml", "models/tiny-base.dvc", "data/support.jsonl.dvc"):
        assert any(github_paths_match(p, changed) for p in paths), changed


def test_ci_requirement_default_pins_the_running_version() -> None:
    text = ci_workflow.requirements_text(None)
    assert f"adapterctl=={__version__}" in text.splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text  # CPU torch in CI


@pytest.mark.parametrize(
    ("spec", "lines"),
    [
        ("adapterctl==0.2.0", ["adapterctl==0.2.0"]),
        (
            "adapterctl[serve]==0.2.0 --index-url https://pypi.corp.example/simple",
            ["--index-url https://pypi.corp.example/simple", "adapterctl[serve]==0.2.0"],
        ),
        ("git+https://github.com/acme/adapterctl@v0.2.0", ["git+https://github.com/acme/adapterctl@v0.2.0"]),
        (
            "adapterctl @ git+https://github.com/acme/adapterctl@v0.2.0",
            ["adapterctl @ git+https://github.com/acme/adapterctl@v0.2.0"],
        ),
    ],
)
def test_ci_requirement_spec_sets_the_install_lines(spec: str, lines: list[str]) -> None:
    text = ci_workflow.requirements_text(spec)
    assert text.splitlines()[-len(lines) :] == lines
    assert "adapterctl==" + __version__ not in text or spec.endswith(__version__)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("torch==2.0", "must name adapterctl"),
        ("adapterctl>=>1", "not a pip requirement"),
        ("adapterctl --index-url", "needs a value"),
        ("adapterctl --pre", "unsupported pip option"),
        ("adapterctl --index-url https://me:tok3n@pypi.corp.example/simple", "carries a password"),
        ("", "no requirement given"),
    ],
)
def test_ci_requirement_refuses_bad_specs(spec: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        ci_workflow.requirement_lines(spec)
