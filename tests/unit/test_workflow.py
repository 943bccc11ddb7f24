"""The CI workflow `init` scaffolds is a valid GitHub Actions workflow that installs the
project's pinned adapterctl and runs validate, report and check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapterctl import __version__, assets

WORKFLOW = assets.templates_dir() / "workflows/adapters.yml"


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[dev]'")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True
    )


def test_workflow_validates_against_the_github_workflow_schema(tmp_path: Path) -> None:
    result = _check_jsonschema(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # the check does catch a mistake
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    assert _check_jsonschema(broken).returncode == 1


def test_workflow_installs_the_pin_and_runs_the_gates() -> None:
    import yaml

    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["review"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "pip install -r .github/adapterctl-requirements.txt" in runs
    assert not any("pip install adapterctl" in r for r in runs)  # never unpinned
    assert 'adapterctl report --base "$BASE" --format md > adapterctl-report.md' in runs
    assert runs[-1] == 'adapterctl check --base "$BASE"'
    sticky = next(s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert sticky["with"]["path"] == "adapterctl-report.md"
    assert flow["permissions"]["pull-requests"] == "write"
    pin = (assets.templates_dir() / "adapterctl-requirements.txt").read_text()
    assert "adapterctl=={version}" in pin and sys.version_info >= (3, 10) and __version__
