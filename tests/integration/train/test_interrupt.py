"""Ctrl-C and kill during training: exit 130, nothing registered, --resume continues."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import subprocess_env

LONG = ["--set", "train.max_steps=400", "--set", "train.eval_steps=2", "--set", "train.batch_size=4"]


def start_training(root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "adapterctl", "train", "support", *LONG, *extra],
        cwd=root, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_checkpoint(root: Path, proc: subprocess.Popen, timeout: float = 180) -> Path:
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


def test_ctrl_c_exits_130_and_registers_nothing(demo: Path) -> None:
    example_project = demo
    proc = start_training(example_project)
    run_dir = wait_for_checkpoint(example_project, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "nothing was registered" in stderr and "adapterctl train support --resume" in stderr
    assert "Traceback" not in stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert not list((example_project / "adapters").glob("support/*.toml")), "no version card was written"
