"""Moving weights: push, pull (one version or all), resolve --pull, gc. Real DVC, local folder remote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from adapterctl import versions
from adapterctl.store import weights


def _cache_objects(project: Path) -> set[str]:
    cache = project / ".dvc" / "cache"
    return {p.parent.name + p.name for p in cache.rglob("*") if p.is_file()} if cache.exists() else set()


def _version_objects(v: versions.Version, project: Path) -> set[str]:
    dir_oid = next(
        line.split(":", 1)[1].strip()
        for line in v.path.with_name(f"{v.id}.dvc").read_text().splitlines()
        if "md5:" in line
    )
    listing = json.loads((project / ".dvc/cache/files/md5" / dir_oid[:2] / dir_oid[2:]).read_text())
    return {dir_oid, *(e["md5"] for e in listing)}


def test_pull_env_after_deleting_adapters_and_cache_brings_back_exactly_that_version(
    project: Path, imported, cli, git
) -> None:
    first, second = imported(2)
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "two versions, prod on the first")
    wanted = _version_objects(first, project)

    shutil.rmtree(project / "adapters")
    shutil.rmtree(project / ".dvc" / "cache")
    git(project, "checkout", "--", "adapters")  # cards and .dvc files come back from git, weights do not
    assert not first.path.exists() and not second.path.exists()

    result = cli("pull", "support@prod", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["verified"] == [first.ref]
    assert json.loads(result.stdout)["files"] == len(wanted)  # every object came from the remote
    assert weights.content_id(first.path) == first.id
    assert not second.path.exists()
    assert _cache_objects(project) == wanted  # nothing else was fetched
    assert cli("resolve", "support@prod", cwd=project).stdout.strip() == str(first.path)


def test_fresh_clone_resolves_with_pull(project: Path, imported, cli, git, tmp_path: Path) -> None:
    (v,) = imported(1)
    cli("deploy", v.ref, "--env", "prod", cwd=project)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "release")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))

    missing = cli("resolve", "support@prod", cwd=clone)
    assert missing.exit_code == 4 and "not available locally" in missing.stderr and "pull" in missing.stderr
    result = cli("resolve", "support@prod", "--pull", cwd=clone)
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == clone / "adapters" / "support" / v.id and weights.content_id(path) == v.id


def test_push_and_pull_everything(project: Path, imported, cli) -> None:
    first, second = imported(2)
    pushed = cli("push", "--json", cwd=project)
    assert pushed.exit_code == 0, pushed.stderr
    assert json.loads(pushed.stdout)["files"] > 0  # data and base were not on the remote yet
    assert json.loads(cli("push", first.ref, "--json", cwd=project).stdout)["files"] == 0  # pushed on registration

    shutil.rmtree(project / "adapters" / "support" / first.id)
    shutil.rmtree(project / ".dvc" / "cache")
    (project / "data" / "support.jsonl").unlink()
    result = cli("pull", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert sorted(json.loads(result.stdout)["verified"]) == sorted([first.ref, second.ref])
    assert (project / "data" / "support.jsonl").is_file()


def test_gc_dry_run_then_force_keeps_served_recent_and_unpushed(project: Path, imported, cli) -> None:
    a, b, c, d = imported(4)
    cli("deploy", a.ref, "--env", "prod", cwd=project)
    # c exists only here: take it off the remote, so gc must not delete the last copy
    remote = project.parent / "remote"
    for oid in _version_objects(c, project) - _version_objects(a, project) - _version_objects(b, project):
        (remote / "files" / "md5" / oid[:2] / oid[2:]).unlink()

    dry = cli("gc", "--keep-last", "1", "--json", cwd=project)
    assert dry.exit_code == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] and [e["id"] for e in plan["remove"]] == [b.id]
    assert [e["id"] for e in plan["kept"]] == [c.id] and "push it first" in plan["kept"][0]["reason"]
    assert b.path.is_dir()

    b_objects = _version_objects(b, project)
    others = set().union(*(_version_objects(v, project) for v in (a, c, d)))
    done = cli("gc", "--keep-last", "1", "--yes", cwd=project)
    assert done.exit_code == 0, done.stderr
    assert not b.path.exists() and a.path.is_dir() and c.path.is_dir() and d.path.is_dir()
    cached = _cache_objects(project)
    assert not (b_objects - others) & cached  # b's own objects left the cache
    assert others <= cached  # objects b shares with kept versions stayed
    for v in (a, c, d):
        assert weights.content_id(v.path) == v.id
    assert json.loads(cli("log", "support", "--json", cwd=project).stdout)[2]["id"] == b.id  # the card stays

    back = cli("pull", b.ref, cwd=project)
    assert back.exit_code == 0, back.stderr
    assert weights.content_id(b.path) == b.id


def test_pull_from_the_local_cache_says_so_when_the_remote_is_unreachable(project: Path, imported, cli) -> None:
    """Issue 17: the copy came from this machine's DVC cache, not from storage."""
    from adapterctl.store import storage

    [v] = imported(1)
    shutil.rmtree(v.path)
    storage.add_remote(project, "storage", str(project.parent / "no-such-remote"))
    result = cli("pull", v.ref, cwd=project)
    assert result.exit_code == 0, result.stderr
    assert f"restored {v.ref} from the local DVC cache (nothing was downloaded from storage)" in result.stderr
    assert "pulled" not in result.stderr and weights.content_id(v.path) == v.id
