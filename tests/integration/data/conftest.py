"""Fixtures for data-check tests: the planted project (no git needed: the checks read files only)."""

from __future__ import annotations

from pathlib import Path

import planted_data as planted
import pytest


@pytest.fixture
def planted_project(tmp_path: Path, tiny_model_dir: Path) -> tuple[Path, dict[str, set[int]]]:
    """(project root, {check: lines}) with the tiny base's tokenizer for the length check."""
    root = tmp_path / "planted"
    return root, planted.build(root, tiny_model_dir)


@pytest.fixture
def planted_no_length(tmp_path: Path) -> tuple[Path, dict[str, set[int]]]:
    """The planted project with the length check off: nothing loads transformers."""
    root = tmp_path / "planted"
    expected = planted.build(root, "models/none")
    manifest = root / "adapterctl.toml"
    manifest.write_text(manifest.read_text() + '\n[defaults.data]\nlength = "off"\n')
    expected.pop("length")
    return root, expected
