"""Checks `storage` runs on a DVC remote around a transfer: before it, that the remote's plugin is
installed, that its server accepts a connection, and that no secret sits in the committed
.dvc/config; after a failure, a direct look at the remote for the reason DVC did not report.
Takes the open DVC repo from `storage` (which stays the only module that opens one)."""

from __future__ import annotations

from adapterctl.core import ui
from adapterctl.core.errors import StorageError
from adapterctl.store import remote_errors


def preflight(repo, remote: str | None) -> tuple[str, str]:
    """The remote's name and URL, after the checks that fail fast with one clear line: its DVC
    plugin is installed and, where its address is known, its server accepts a connection."""
    name = remote or repo.config["core"].get("remote") or ""
    conf = dict(repo.config["remote"].get(name) or {})
    url = str(conf.get("url", ""))
    for secret in remote_errors.committed_secrets(repo.config.load_one("repo")):
        ui.warn(
            f".dvc/config holds a secret ({secret}), and git commits that file: move it to .dvc/config.local "
            "(`dvc remote modify --local ...`) or the environment, drop it from .dvc/config "
            "(`dvc remote modify --unset ...`), and rotate it if it was ever pushed"
        )
    if remote_errors.scheme(url) == "local":
        return name, url
    try:
        repo.cloud.get_remote(name)
    except ImportError as exc:
        raise StorageError(remote_errors.plugin_missing(str(exc), name, url) or str(exc)) from None
    dead = remote_errors.unreachable(name, url, conf)
    if dead:
        raise StorageError(dead)
    return name, url


def probe(repo, name: str, url: str) -> str | None:
    """Ask the remote directly whether it can be read (the one request DVC's fetch swallows):
    the line that explains why not, or None when it answers."""
    try:
        handle = repo.cloud.get_remote(name)
        if handle.fs.exists(handle.path):
            return None
        top = handle.path.split("/", 1)[0]
        if remote_errors.scheme(url) in ("s3", "gs", "azure") and not handle.fs.exists(top):
            return remote_errors.no_such_location(name, url, f"bucket {top} not found")
        return remote_errors.no_such_location(name, url, f"{handle.path} not found")
    except Exception as exc:  # noqa: BLE001 - the SDK's error is the answer
        return remote_errors.explain(exc, name, url, "reading")
