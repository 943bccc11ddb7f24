"""Packaging metadata that nothing else would catch until a user installs the wheel."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    # package-dir mapping rules out packages.find, so a new subpackage must be added by hand.
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "adapterctl").rglob("__init__.py")}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert {"adapterctl.templates", "adapterctl.example"} <= listed


def test_constraints_pin_every_dependency() -> None:
    """A dependency added to pyproject.toml without re-running scripts/lock.sh fails here."""
    pinned: set[str] = set()
    for line in (REPO / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if m:
            pinned.add(_normal(m.group(1)))
    project = PYPROJECT["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    names = {_normal(re.match(r"^[A-Za-z0-9_.-]+", dep).group(0)) for dep in deps}
    assert names - pinned == set(), "run scripts/lock.sh to regenerate constraints.txt"
    assert "torch==2.13.0" in (REPO / "constraints.txt").read_text().splitlines()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_no_setup_py() -> None:
    assert not (REPO / "setup.py").exists(), "pyproject.toml is the only build file"
