"""Files shipped with the package: `templates/` (what init writes) and the example project.

In a wheel they are the packages adapterctl.templates and adapterctl.example (the
[tool.setuptools.package-dir] table in pyproject.toml maps the folders there); in a source
checkout they are the top-level folders `templates/` and `example-project/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # adapterctl/


def _find(packaged: str, in_checkout: str) -> Path:
    for candidate in (_PACKAGE / packaged, _PACKAGE.parent / in_checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"adapterctl is installed without its {in_checkout}/ folder")


def templates_dir() -> Path:
    return _find("templates", "templates")


def example_dir() -> Path:
    return _find("example", "example-project")
