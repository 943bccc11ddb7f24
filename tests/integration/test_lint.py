"""CI enforces ruff (config in pyproject.toml [tool.ruff]): lint and formatting; and mypy
([tool.mypy]: adapterctl/, strict for the schema and store layers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_check_is_clean() -> None:
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, f"ruff check found problems (fix them or `ruff check --fix`):\n{result.stdout}"


def test_ruff_format_is_clean() -> None:
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, f"run `ruff format .`:\n{result.stdout}"


@pytest.mark.slow  # about 35 s from a cold cache on 2 cores
def test_mypy_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"mypy found problems (config: pyproject.toml [tool.mypy]):\n{result.stdout}{result.stderr}"
    )
