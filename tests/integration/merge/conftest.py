"""Fixtures for merge, combine and export: the example project (git + DVC), PEFT adapters of
each LoRA variant built directly with peft on the project's tiny base, imported as versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from merge_helpers import BASE, REPO_ROOT, make_adapter


@pytest.fixture
def project(example_project: Path) -> Path:
    subprocess.run(["git", "add", "-A"], cwd=example_project, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-qm", "fixture", "--allow-empty"], cwd=example_project, check=True, capture_output=True
    )
    return example_project


@pytest.fixture
def import_variant(project: Path, tmp_path: Path) -> Callable[..., str]:
    """Build an adapter with peft on the project's base and import it as a version of NAME; returns its ref."""
    from adapterctl import versions
    from adapterctl.core.project import Project

    def _import(
        name: str = "support", *, seed: int = 1, r: int = 4, config_patch: dict | None = None, **options
    ) -> str:
        folder = make_adapter(
            project / BASE,
            tmp_path / f"adapter-{name}-{seed}-{len(list(tmp_path.iterdir()))}",
            seed=seed,
            r=r,
            **options,
        )
        if config_patch:
            path = folder / "adapter_config.json"
            path.write_text(json.dumps({**json.loads(path.read_text()), **config_patch}))
        return versions.import_folder(Project(project), name, folder, any_base=True).ref

    return _import


@pytest.fixture
def sharded_base(project: Path) -> Path:
    """The project's base re-saved as several safetensors shards with an index."""
    from transformers import AutoModelForCausalLM

    folder = project / BASE
    model = AutoModelForCausalLM.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    model.save_pretrained(folder, max_shard_size="250KB")
    assert (folder / "model.safetensors.index.json").is_file()
    return folder


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess]:
    """`adapterctl ARGS` as a separate process (this checkout's code)."""

    def _run(*args: str, cwd: Path, env: dict[str, str] | None = None):
        full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "adapterctl", *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )

    return _run
