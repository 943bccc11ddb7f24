"""Ctrl-C and kill during training: exit 130, nothing registered, --resume continues."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers import start_training, wait_for_checkpoint

pytestmark = pytest.mark.slow  # trains


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
