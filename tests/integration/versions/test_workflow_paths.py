"""The scaffolded workflow fires on every change adapterctl makes: after init, import, deploy and
a move back, every file git tracks is under one of the workflow's `paths:`, except the
scaffolding that no command edits afterwards. A command that starts writing somewhere new
fails here until ci_workflow.managed_paths lists it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# Written once by `init` (git and DVC's own set-up); no adapterctl command changes them later.
SCAFFOLDING = {".gitignore", ".dvcignore", ".dvc/config", ".dvc/.gitignore"}


def _dvc_ignore_beside_a_dvc_file(path: str, tracked: list[str]) -> bool:
    """The .gitignore DVC keeps next to a tracked output (models/.gitignore for models/tiny-base):
    it changes only together with that output's .dvc file, which the workflow does watch."""
    folder = path.removesuffix(".gitignore")
    return path.endswith(".gitignore") and any(p.startswith(folder) and p.endswith(".dvc") for p in tracked)


def _matches(pattern: str, path: str) -> bool:
    """GitHub's paths filter: `**` crosses folders (`**/` may match none), `*` stays in one."""
    parts = [re.escape(p).replace(r"\*", "[^/]*") for p in pattern.split("**")]
    rx = parts[0]
    for part in parts[1:]:
        rx += f"(?:.*/)?{part[1:]}" if part.startswith("/") else f".*{part}"
    return re.fullmatch(rx, path) is not None


def test_every_tracked_path_triggers_the_workflow(project: Path, imported, cli, git) -> None:
    first, second = imported(2)
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    assert cli("deploy", second.ref, "--env", "staging", cwd=project).exit_code == 0
    assert cli("rollback", "support", "--env", "prod", "--to", second.ref, cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "versions and moves")

    workflow = yaml.safe_load((project / ".github/workflows/adapters.yml").read_text())
    paths = workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as True
    every = git(project, "ls-files").splitlines()
    tracked = [p for p in every if p not in SCAFFOLDING and not _dvc_ignore_beside_a_dvc_file(p, every)]
    assert any(p.startswith("environments/") for p in tracked) and any(p.endswith(".dvc") for p in tracked)
    unlisted = [p for p in tracked if not any(_matches(pattern, p) for pattern in paths)]
    assert unlisted == [], f"add these to adapterctl/ops/ci_workflow.py managed_paths: {unlisted}"
