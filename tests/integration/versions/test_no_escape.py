"""No command writes outside the project (and its configured remote): the promise behind
`adapterctl pull` on a shared machine. Checked by snapshotting everything around the project
while the state-changing commands run, and an adapter folder that links outside the project
(issue 8 item 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapterctl import versions
from adapterctl.core.project import Project

pytestmark = pytest.mark.slow


def _snapshot(folder: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    out = {}
    for path in folder.rglob("*"):
        if any(path == s or s in path.parents for s in skip) or not path.is_file():
            continue
        stat = path.stat()
        out[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return out


def test_commands_write_nothing_outside_the_project_and_its_remote(project: Path, adapters: list[Path], cli) -> None:
    around, sources = project.parent, adapters[0].parent
    skip = {project, around / "remote"}
    before, sources_before = _snapshot(around, skip), _snapshot(sources, set())
    steps = [
        ("import", "support", str(adapters[0])),
        ("import", "support", str(adapters[1])),
        ("import", "docs", str(adapters[2])),
        ("deploy", "support@~1", "--env", "prod"),
        ("deploy", "support", "--env", "prod"),
        ("rollback", "support", "--env", "prod"),
        ("push",),
        ("gc", "--yes", "--keep-last", "0"),
        ("pull",),
        ("resolve", "support", "--pull"),
    ]
    for args in steps:
        result = cli(*args, "-C", str(project))
        assert result.exit_code == 0, (args, result.stderr)
    assert _snapshot(around, skip) == before
    assert _snapshot(sources, set()) == sources_before


@pytest.mark.parametrize(
    "command",
    [
        ("pull", "{ref}"),
        ("pull",),
        ("resolve", "{ref}", "--pull"),
        ("import", "support", "{adapter}"),
        ("gc", "--yes", "--keep-last", "0"),
    ],
)
def test_an_adapter_folder_that_links_outside_the_project_is_refused(
    project: Path, adapters: list[Path], cli, command: tuple[str, ...]
) -> None:
    """Issue 8 item 6: with adapters/NAME a symlink to a folder outside the project, `pull` and
    `resolve --pull` wrote the version there. Every command that would write or delete there refuses."""
    version = versions.import_folder(Project(project), "support", adapters[0])
    outside = project.parent / "outside"
    shutil.move(str(project / "adapters" / "support"), outside)
    if command[0] != "gc":  # gc would delete the weights outside; the others would write them there
        shutil.rmtree(outside / version.id)
    (project / "adapters" / "support").symlink_to(outside, target_is_directory=True)
    before = _snapshot(outside, set())
    args = [a.format(ref=version.ref, adapter=adapters[1]) for a in command]
    result = cli(*args, "-C", str(project))
    assert _snapshot(outside, set()) == before, f"{args} wrote outside the project"
    assert result.exit_code == 2 and "outside the project" in result.stderr, (result.exit_code, result.stderr)
