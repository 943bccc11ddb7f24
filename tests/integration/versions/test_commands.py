"""The version commands as a user meets them: no torch on the fast paths (help: tests/unit/test_cli_help.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from adapterctl import versions
from adapterctl.core.project import Project

REPO_ROOT = Path(__file__).resolve().parents[3]

_PROBE = """
import json, sys
from adapterctl.cli import main
for args in json.loads(sys.argv[1]):
    code = main(args)
    heavy = [m for m in ("torch", "transformers", "peft", "trl", "bitsandbytes") if m in sys.modules]
    ops = [m for m in ("adapterctl.api", "adapterctl.ops.train", "adapterctl.ops.deploy") if m in sys.modules]
    print(json.dumps({"args": args, "code": code, "heavy": heavy, "ops": ops}), file=sys.stderr)
"""


def test_fast_commands_never_import_torch(project: Path, adapters: list[Path]) -> None:
    p = Project(project)
    for adapter in adapters[:2]:
        versions.import_folder(p, "support", adapter)
    commands = [
        ["list"],
        ["log", "support"],
        ["status"],
        ["show", "support"],
        ["deploy", "support@~1", "--env", "prod"],
        ["deploy", "support", "--env", "prod"],
        ["rollback", "support", "--env", "prod"],
        ["show", "support@prod"],
        ["envs", "--history"],
        ["resolve", "support@prod"],
        ["import", "support", str(adapters[2])],
        ["gc"],
    ]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
    )
    reports = [json.loads(line) for line in result.stderr.splitlines() if line.startswith('{"args"')]
    assert [r["args"] for r in reports] == commands, result.stderr
    for r in reports:
        assert r["code"] == 0 and r["heavy"] == [], r
    reads = reports[:4]  # list, log, status, show: answered from the views, without the operations
    assert [r["args"][0] for r in reads] == ["list", "log", "status", "show"]
    assert all(r["ops"] == [] for r in reads), reads
