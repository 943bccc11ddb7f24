"""The package works without the checkout: build the sdist and the wheel (the wheel from the
sdist, so both must be complete), check their metadata with twine, install the wheel (not
editable) into a fresh venv, and run the README's first commands there, eval included, on a
version imported from a PEFT folder. The venv reuses this interpreter's site-packages for torch
and the other dependencies; adapterctl itself must come from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapterctl import __version__

REPO = Path(__file__).resolve().parents[3]
BUILD_LEFTOVERS = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", ".*cache*")


def _sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def _source_copy(dest: Path) -> Path:
    """The checkout's files without build outputs: building never writes into the checkout."""
    shutil.copytree(REPO, dest, ignore=BUILD_LEFTOVERS)
    return dest


@pytest.mark.slow
def test_built_wheel_runs_the_first_commands_in_a_fresh_venv(tmp_path: Path, adapters: list[Path]) -> None:
    src = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    _sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, src, cwd=tmp_path)
    wheel = next(dist.glob("adapterctl-*.whl"))
    sdist = next(dist.glob("adapterctl-*.tar.gz"))
    assert wheel.name == f"adapterctl-{__version__}-py3-none-any.whl"  # the version comes from one place
    assert "PASSED" in _sh(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=tmp_path).stdout

    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp_path)
    py, exe = venv / "bin/python", venv / "bin/adapterctl"
    # --ignore-installed: the shared interpreter's editable adapterctl is neither used nor touched
    _sh(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel, cwd=tmp_path)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "work"  # not the checkout: the current folder comes first on sys.path
    work.mkdir()
    where = _sh(
        py,
        "-c",
        "import adapterctl, adapterctl.core.assets as a; print(adapterctl.__file__); print(a.templates_dir())",
        cwd=work,
        env=env,
    )
    module_file, templates = where.stdout.splitlines()
    assert Path(module_file).is_relative_to(venv), module_file
    assert Path(templates).is_relative_to(venv), templates  # templates ship inside the wheel
    assert _sh(exe, "--version", cwd=work, env=env).stdout.strip() == f"adapterctl {__version__}"

    _sh(exe, "init", "demo", "--example", cwd=work, env=env)
    project = work / "demo"
    assert (project / "data/support.jsonl").is_file() and (project / ".github/workflows/adapters.yml").is_file()
    assert f"adapterctl=={__version__}" in (project / ".github/adapterctl-requirements.txt").read_text()
    _sh(exe, "validate", cwd=project, env=env)
    _sh(exe, "data", "check", "support", cwd=project, env=env)
    imported = json.loads(_sh(exe, "import", "support", adapters[0], "--json", cwd=project, env=env).stdout)

    evaluated = subprocess.run(
        [exe, "eval", "support", "--limit", "4", "--json"], cwd=project, env=env, capture_output=True, text=True
    )
    assert evaluated.returncode in (0, 1), evaluated.stderr  # 1: the random adapter failed a gate; it still ran
    assert "Traceback" not in evaluated.stderr
    report = json.dumps(json.loads(evaluated.stdout))
    assert imported["id"] in report and "rouge_l" in report
