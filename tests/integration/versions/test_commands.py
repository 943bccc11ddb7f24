"""The version commands as a user meets them: help with an example, and no torch on fast paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from adapterctl import versions
from adapterctl.cli import app
from adapterctl.project import Project

REPO_ROOT = Path(__file__).resolve().parents[3]
VERSION_COMMANDS = ["import", "log", "status", "deploy", "rollback", "envs", "resolve", "push", "pull", "gc", "show"]

_PROBE = """
import json, sys
from adapterctl.cli import main
for args in json.loads(sys.argv[1]):
    code = main(args)
    heavy = [m for m in ("torch", "transformers", "peft", "trl", "bitsandbytes") if m in sys.modules]
    print(json.dumps({"args": args, "code": code, "heavy": heavy}), file=sys.stderr)
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


@pytest.mark.parametrize("name", VERSION_COMMANDS)
def test_every_version_command_has_help_with_an_example(name: str) -> None:
    group = typer.main.get_command(app)
    command = group.get_command(typer.Context(group), name)
    assert command is not None, name
    assert command.help and "Example: adapterctl " in command.help
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"{name}: {param.name} has no help"
    assert any(p.opts == ["--json"] for p in command.params), f"{name} lacks --json"
