"""Plain helpers shared by test modules (fixtures live in the conftest files). Test modules
import from here, never from each other or from a conftest."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A few optimiser steps on the tiny model: every stage runs, in about a second.
FAST = ["train.max_steps=4", "train.eval_steps=2", "train.batch_size=8"]
# Long enough that a checkpoint is written before the run is interrupted.
LONG = ["--set", "train.max_steps=400", "--set", "train.eval_steps=2", "--set", "train.batch_size=4"]


def run_dir(project, run_id: str) -> Path:
    """The folder of training run `run_id` in Project `project`."""
    return project.state_dir / "runs" / run_id


def subprocess_env() -> dict[str, str]:
    """The environment for `python -m adapterctl` in a child process running this checkout."""
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def start_training(root: Path, *extra: str) -> subprocess.Popen:
    """`adapterctl train support` with LONG settings, in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "adapterctl", "train", "support", *LONG, *extra],
        cwd=root,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_checkpoint(root: Path, proc: subprocess.Popen, timeout: float = 180) -> Path:
    """The run folder of `proc`'s training, once it has written its first checkpoint."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list((root / ".adapterctl/runs").glob("support-*/checkpoints/checkpoint-*/trainer_state.json"))
        if found:
            return found[0].parents[2]
        if proc.poll() is not None:
            raise AssertionError(f"training ended early ({proc.returncode}): {proc.stderr.read()[-3000:]}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("no checkpoint appeared in time")


@contextlib.contextmanager
def loaded_version(project, ref: str):
    """(PeftModel, tokenizer) of version REF, loaded as `adapterctl eval` loads it: the store
    resolves and verifies it, the base is the manifest's in full precision. The process's
    torch thread count is restored afterwards (eval keeps its own for the process)."""
    import torch

    from adapterctl import manifest, versions
    from adapterctl.evaluation.runner import Models

    threads = torch.get_num_threads()
    models = Models(project, manifest.load(project.manifest_path))
    try:
        with models.use(versions.resolve(project, ref, verify=True)) as loaded:
            yield loaded
    finally:
        torch.set_num_threads(threads)


def without_gates(text: str) -> str:
    """The manifest text without its [adapters.NAME.gates] tables: for tests that move pointers
    between versions that were never evaluated, which deploy refuses when gates are declared."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            skipping = line.strip().endswith(".gates]")
        if not skipping:
            out.append(line)
    return "".join(out)


def undeclared_keys(record, where: str = "") -> list[str]:
    """Keys of a typed card table (and the tables inside it) that no field declares: kept as
    untyped extras. A table the code writes should have none."""
    from pydantic import BaseModel

    found = [f"{where}{key}" for key in record.model_extra or {}]
    for name in type(record).model_fields:
        value = getattr(record, name)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                at = f"{where}{name}." + (f"{i}." if isinstance(value, list) else "")
                found += undeclared_keys(item, at)
    return found


def card_load_error(card: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    """Load a copy of CARD with `old` replaced by `new` once; (the copy, the IntegrityError's message)."""
    import pytest

    from adapterctl.core.errors import IntegrityError
    from adapterctl.versions import card as cards

    text = card.read_text()
    assert old in text
    path = tmp_path / card.name
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(IntegrityError) as caught:
        cards.load(path)
    return path, str(caught.value)
