"""Piped output (CI logs, `| tee`) keeps each message on one line instead of wrapping at 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
from adapterctl.core import ui
ui.info("info " + "word " * 40)
ui.warn("warn " + "word " * 40)
ui.success("done " + "word " * 40)
ui.out.print("out " + "word " * 40)
"""


def test_piped_messages_are_not_wrapped() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
    lines = result.stderr.splitlines()
    assert [line.split()[0] for line in lines] == ["info", "warning:", "✓"], result.stderr
    assert all(len(line) > 200 for line in lines), "each message stays on one line"
    assert len(result.stdout.splitlines()) == 1
