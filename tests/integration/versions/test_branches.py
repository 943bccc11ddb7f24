"""Branch safety with real git: versions added on two branches merge without conflicts."""

from __future__ import annotations

import json
from pathlib import Path

from adapterctl import versions
from adapterctl.core.project import Project


def test_two_branches_that_each_add_versions_merge_cleanly_and_log_lists_all(
    project: Path, adapters: list[Path], cli, git
) -> None:
    p = Project(project)
    base = versions.import_folder(p, "support", adapters[0], message="on main")
    assert cli("deploy", base.ref, "--env", "prod", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "main: first version, prod")

    git(project, "checkout", "-qb", "feature-a")
    a = versions.import_folder(p, "support", adapters[1], message="from a")
    docs = versions.import_folder(p, "docs", adapters[3], message="docs from a")
    assert cli("deploy", docs.ref, "--env", "prod", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a: a support version, docs in prod")

    git(project, "checkout", "-q", "main")
    git(project, "checkout", "-qb", "feature-b")
    assert [v.id for v in versions.log(p, "support")] == [base.id]  # a's card is not here
    b = versions.import_folder(p, "support", adapters[2], message="from b")
    assert cli("deploy", b.ref, "--env", "staging", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "b: another support version, staging")

    git(project, "checkout", "-q", "main")
    git(project, "merge", "-q", "--no-edit", "feature-a")
    git(project, "merge", "-q", "--no-edit", "feature-b")  # raises on a conflict
    assert git(project, "status", "--porcelain") == ""
    assert not (project / "adapters" / "support" / ".gitignore").exists()

    entries = json.loads(cli("log", "support", "--json", cwd=project).stdout)
    assert [e["id"] for e in entries] == [b.id, a.id, base.id]  # by creation time
    assert entries[0]["parent"] == entries[1]["parent"] == base.id  # both branched off main
    assert entries[2]["environments"] == ["prod"] and entries[0]["environments"] == ["staging"]
    assert versions.resolve(p, "support@~1").id == base.id  # parent of the latest, like git's HEAD~1
    assert versions.resolve(p, "docs@prod").id == docs.id
