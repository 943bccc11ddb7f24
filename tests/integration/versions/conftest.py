"""Fixtures for the version store: real PEFT adapters on the tiny model, a git + DVC project
with a local folder remote, and a way to run adapterctl as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import without_gates

REPO_ROOT = Path(__file__).resolve().parents[3]


def make_peft_adapter(base_dir: Path, out_dir: Path, *, seed: int, r: int = 4) -> Path:
    """A random (init_lora_weights=False) LoRA adapter on every linear layer, PEFT format."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    torch.manual_seed(seed)
    config = LoraConfig(r=r, lora_alpha=2 * r, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four different PEFT adapter folders (seeds 1-4), built once. Read-only."""
    root = tmp_path_factory.mktemp("peft-adapters")
    return [make_peft_adapter(tiny_model_dir, root / f"adapter-{seed}", seed=seed) for seed in range(1, 5)]


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git() -> Callable[..., str]:
    """`git ARGS` in folder `root`; returns stdout, raises on failure."""
    return _git


@pytest.fixture
def project(example_project: Path) -> Path:
    """The example project with everything committed (the fixture re-points the DVC remote).

    Without the example's eval gates: these tests move pointers between imported versions that
    were never evaluated, which deploy refuses when gates are declared (tests/integration/eval
    covers that)."""
    manifest = example_project / "adapterctl.toml"
    text = manifest.read_text()
    manifest.write_text(without_gates(text))
    _git(example_project, "add", "-A")
    _git(example_project, "commit", "-qm", "point at this test's remote", "--allow-empty")
    return example_project


@pytest.fixture
def imported(project: Path, adapters: list[Path]) -> Callable[[int], list]:
    """Import the first N test adapters as versions of `support` (messages v0, v1, ...)."""
    from adapterctl import versions
    from adapterctl.core.project import Project

    def _import(n: int) -> list[versions.Version]:
        return [
            versions.import_folder(Project(project), "support", a, message=f"v{i}") for i, a in enumerate(adapters[:n])
        ]

    return _import


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess]:
    """`adapterctl ARGS` as a separate process (this checkout's code), in folder `cwd`."""

    def _run(*args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = False):
        full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        result = subprocess.run(
            [sys.executable, "-m", "adapterctl", *args], cwd=cwd, env=full_env, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise AssertionError(f"adapterctl {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    return _run


@pytest.fixture
def spawn() -> Callable[..., subprocess.Popen]:
    """Start `adapterctl ARGS` in the background (stdout and stderr piped)."""

    def _spawn(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "adapterctl", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return _spawn


@pytest.fixture
def corrupt() -> Callable[[Path], None]:
    """Flip the last byte of a file in place: tensor data, in a safetensors file."""

    def _flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.chmod(0o644)
        path.write_bytes(bytes(data))

    return _flip
