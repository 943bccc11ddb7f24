"""Real remotes end to end: an S3 bucket on moto's standalone server and an SSH folder on
Debian's OpenSSH server, each a separate process on 127.0.0.1, configured the way a user
configures MinIO or a storage host (URL and endpoint in .dvc/config, secrets in
.dvc/config.local). The cycle: push, wipe the local cache and the version folders, pull one
environment's version, and check it verifies and that only its objects came back."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_servers import S3Server, SSHServer, closed_port, create_bucket, moto_s3, openssh, sshd_unavailable

from adapterctl import versions
from adapterctl.store import weights

SECRET = "s3cr3t-adapterctl-9f8e7d6c5b4a"  # a value that must never reach git
ACCESS_KEY = "AKIAADAPTERCTLTEST01"


def dvc(root: Path, *args: str) -> None:
    """`dvc ARGS` as the user types it (DVC's own CLI, this interpreter)."""
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=True, capture_output=True, text=True)


def remote_modify(root: Path, settings: dict[str, str], *, local: bool = False) -> None:
    """What `dvc remote modify [--local] storage KEY VALUE` writes, for each setting, in one step
    (DVC's own config editor; the CLI costs a second per call)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo, repo.config.edit("local" if local else "repo") as conf:
        conf["remote"].setdefault("storage", {}).update(settings)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_s3(tmp_path_factory.mktemp("moto")) as server:
        create_bucket(server, "adapters")
        yield server


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    reason = sshd_unavailable()
    if reason:
        pytest.skip(reason)
    with openssh(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def use_s3(root: Path, server: S3Server, url: str, *, secret: str = SECRET, key: str = ACCESS_KEY) -> None:
    """Point remote `storage` at `url` on `server`: endpoint committed, keys machine-local."""
    remote_modify(root, {"url": url, "endpointurl": server.endpoint})
    remote_modify(root, {"access_key_id": key, "secret_access_key": secret}, local=True)


def use_ssh(root: Path, server: SSHServer, path: Path, *, port: int | None = None, key: Path | None = None) -> None:
    remote_modify(root, {"url": f"ssh://{server.user}@127.0.0.1:{port or server.port}{path}"})
    remote_modify(root, {"keyfile": str(key or server.key)}, local=True)


def _version_objects(v: versions.Version, project: Path) -> dict[str, int]:
    """The cache objects of version `v` (its .dir listing and files) with their sizes."""
    dir_oid = next(
        line.split(":", 1)[1].strip()
        for line in v.path.with_name(f"{v.id}.dvc").read_text().splitlines()
        if "md5:" in line
    )
    listing_path = project / ".dvc/cache/files/md5" / dir_oid[:2] / dir_oid[2:]
    objects = {dir_oid.removesuffix(".dir"): listing_path.stat().st_size}
    for entry in json.loads(listing_path.read_text()):
        path = project / ".dvc/cache/files/md5" / entry["md5"][:2] / entry["md5"][2:]
        objects[entry["md5"]] = path.stat().st_size
    return objects


def _cache_objects(project: Path) -> set[str]:
    cache = project / ".dvc/cache/files/md5"
    return {p.parent.name + p.name.removesuffix(".dir") for p in cache.rglob("*") if p.is_file()}


def cycle(project: Path, imported, cli, git) -> None:
    """Versions pushed at registration, everything else pushed; then a wiped machine pulls prod."""
    first, second = imported(2)  # each is pushed to the remote as it is registered
    assert cli("deploy", first.ref, "--env", "prod", cwd=project).exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "two versions, prod on the first")
    pushed = cli("push", "--jobs", "2", "--json", cwd=project)
    assert pushed.exit_code == 0, pushed.stderr
    assert json.loads(pushed.stdout)["files"] > 0 and json.loads(pushed.stdout)["bytes"] > 0  # data and base
    wanted = _version_objects(first, project)

    shutil.rmtree(project / "adapters")
    shutil.rmtree(project / ".dvc/cache")
    git(project, "checkout", "--", "adapters")  # cards and .dvc files come back from git, weights do not
    assert not first.path.exists() and not second.path.exists()

    result = cli("pull", "support@prod", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verified"] == [first.ref]
    assert weights.content_id(first.path) == first.id
    assert not second.path.exists()
    assert _cache_objects(project) == set(wanted)  # nothing but prod's objects was fetched
    assert report["files"] == len(wanted) and report["bytes"] == sum(wanted.values())


@pytest.mark.slow
def test_s3_cycle_and_no_secret_reaches_git(project: Path, imported, cli, git, s3: S3Server) -> None:
    use_s3(project, s3, "s3://adapters/team", secret="placeholder")
    dvc(project, "remote", "modify", "--local", "storage", "secret_access_key", SECRET)  # as the user does
    git(project, "add", "-A")
    git(project, "commit", "-qm", "store on S3")
    cycle(project, imported, cli, git)

    # the secret is only in the machine-local config, which git ignores
    assert SECRET in (project / ".dvc/config.local").read_text()
    assert git(project, "check-ignore", ".dvc/config.local").strip() == ".dvc/config.local"
    git(project, "add", "-A")
    git(project, "commit", "-qm", "after the cycle", "--allow-empty")
    history = git(project, "log", "-p", "--all", "--full-history")
    assert "endpointurl" in history  # the grep does read the config's history
    assert SECRET not in history and ACCESS_KEY not in history
    for tracked in git(project, "ls-files", "-z").split("\0"):
        if tracked and (project / tracked).is_file():
            assert SECRET.encode() not in (project / tracked).read_bytes(), tracked


@pytest.mark.slow
def test_a_secret_in_the_committed_config_is_flagged(project: Path, cli, s3: S3Server) -> None:
    use_s3(project, s3, "s3://adapters/flagged")
    remote_modify(project, {"secret_access_key": SECRET})  # without --local: .dvc/config, which git commits
    pushed = cli("push", cwd=project)
    assert pushed.exit_code == 0, pushed.stderr
    assert "remote storage: secret_access_key" in pushed.stderr and "config.local" in pushed.stderr
    assert SECRET not in pushed.stderr
    remote_modify(project, {"secret_access_key": SECRET}, local=True)
    from dvc.repo import Repo

    with Repo(str(project)) as repo, repo.config.edit("repo") as conf:
        del conf["remote"]["storage"]["secret_access_key"]
    assert "git commits" not in cli("push", cwd=project).stderr  # once moved, no warning


@pytest.mark.slow
def test_init_with_an_s3_remote_pushes_there(tmp_path: Path, cli, s3: S3Server) -> None:
    result = cli("init", str(tmp_path / "fresh"), "--remote", "s3://adapters/fresh/prefix", "--json")
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "fresh"
    assert "url = s3://adapters/fresh/prefix" in (root / ".dvc/config").read_text()
    assert 'remote = "storage"' in (root / "adapterctl.toml").read_text()
    remote_modify(root, {"endpointurl": s3.endpoint})
    remote_modify(root, {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET}, local=True)
    pushed = cli("push", "--json", cwd=root)
    assert pushed.exit_code == 0, pushed.stderr
    assert json.loads(pushed.stdout)["files"] >= 2  # the built-in base's files
    again = cli("push", "--json", cwd=root)
    assert json.loads(again.stdout)["files"] == 0  # already there


@pytest.mark.slow
def test_ssh_cycle(project: Path, imported, cli, git, sshd: SSHServer) -> None:
    use_ssh(project, sshd, sshd.store / "cycle")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "store on the storage host")
    cycle(project, imported, cli, git)
    assert any((sshd.store / "cycle" / "files" / "md5").rglob("*"))  # the objects are on the host


# ── failures: one line each, exit 4, saying what to check ────────────────────


def _one_line_storage_error(result, *needles: str) -> None:
    assert result.exit_code == 4, (result.exit_code, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    for needle in needles:
        assert needle in message, message


@pytest.fixture(scope="module")
def strict_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A second moto server that accepts only keys its IAM issued (none here), as AWS does."""
    with moto_s3(tmp_path_factory.mktemp("moto-strict"), enforce_auth=True) as server:
        yield server


@pytest.mark.slow
def test_s3_failures_say_what_to_check(project: Path, cli, s3: S3Server, strict_s3: S3Server) -> None:
    shutil.rmtree(project / ".dvc/cache")  # so that pull has something to fetch
    for command in ("push", "pull"):
        use_s3(project, S3Server(f"http://127.0.0.1:{closed_port()}", 0), "s3://adapters/team")
        _one_line_storage_error(cli(command, cwd=project), "cannot reach remote storage", "endpointurl")

        use_s3(project, s3, "s3://no-such-bucket/team")
        _one_line_storage_error(cli(command, cwd=project), "no such bucket", "s3://no-such-bucket/team")

        use_s3(project, strict_s3, "s3://adapters/team")
        refused = cli(command, cwd=project)
        _one_line_storage_error(refused, "refused access", "secret_access_key")
        assert SECRET not in refused.stderr  # no message repeats the secret


@pytest.mark.slow
def test_ssh_failures_say_what_to_check(project: Path, cli, sshd: SSHServer) -> None:
    shutil.rmtree(project / ".dvc/cache")
    use_ssh(project, sshd, sshd.store / "x", key=sshd.other_key)  # a key the server does not know
    _one_line_storage_error(cli("push", cwd=project), "refused access", "keyfile")

    use_ssh(project, sshd, sshd.store / "x", port=closed_port())
    _one_line_storage_error(cli("pull", cwd=project), "cannot reach remote storage", "port")

    use_ssh(project, sshd, sshd.store / "never-pushed")
    _one_line_storage_error(cli("pull", cwd=project), "no such path", "never-pushed")


def test_missing_plugin_names_the_extra(project: Path, cli, adapters: list[Path], monkeypatch) -> None:
    """Without dvc-ssh (its import blocked here, as on a machine that never installed it)."""
    monkeypatch.setitem(sys.modules, "dvc_ssh", None)
    remote_modify(project, {"url": "ssh://deploy@127.0.0.1/srv/adapters"})
    for command in (["push"], ["pull"], ["import", "support", str(adapters[0])]):
        _one_line_storage_error(cli(*command, cwd=project), "dvc-ssh", "pip install 'adapterctl[ssh]'")
    assert "no versions yet" in cli("log", "support", cwd=project).stderr  # import registered nothing
