"""Fixtures for the server tests (helpers in servekit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from servekit import make_peft_adapter, make_project, start_server


@pytest.fixture(scope="session")
def peft_adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three PEFT adapters (seeds 11-13) on the tiny base, built once. Read-only."""
    root = tmp_path_factory.mktemp("serve-adapters")
    return [make_peft_adapter(tiny_model_dir, root / f"adapter-{seed}", seed=seed) for seed in (11, 12, 13)]


@pytest.fixture
def served(_example_template: Path, peft_adapters: list[Path], tmp_path: Path):
    """(Server on prod = v2, [v1, v2]) with prod's history v1 → v2; stopped after the test."""
    root, made = make_project(_example_template, tmp_path / "demo", peft_adapters)
    server = start_server(root)
    yield server, made
    server.stop()
