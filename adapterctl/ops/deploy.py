"""`deploy`: point an environment at a version, after checking it may be served."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import storage, versions
from adapterctl.errors import CheckFailed, StorageError, UsageError
from adapterctl.ops import changes_state
from adapterctl.ops.transfer import remote
from adapterctl.project import Project
from adapterctl.refs import is_env_name
from adapterctl.registry import Registry
from adapterctl.versions import Version


@dataclass
class MoveResult:
    name: str
    env: str
    version: str  # full id now served
    previous: str  # full id served before ("" if none)
    moved: bool  # False when the environment already served that version
    move: dict[str, Any] = field(default_factory=dict)
    sync: Any = None  # serve.vllm.SyncReport when the environment drives a server (set by api)


@changes_state
def deploy(project: Project, ref: str, env: str, *, message: str = "", force: bool = False) -> MoveResult:
    """Point `env` at the version REF names. Refuses corrupt or unavailable weights, and (unless
    forced) versions whose card records failed eval gates."""
    check_env(env)
    registry = Registry.load(project)
    version = registry.resolve(ref)
    ensure_available(project, version)
    gates = version.card.gates
    if gates is not None and gates.passed is False and not force:
        failed = ", ".join(str(g) for g in gates.failed) or "see its card"
        raise CheckFailed(f"{version.ref} failed its eval gates ({failed}); pass --force to deploy it anyway")
    return move(registry, version, env, action="deploy", message=message, forced=force)


def check_env(env: str) -> None:
    if not is_env_name(env):
        raise UsageError(
            f"invalid environment name {env!r}: start with a letter; letters, digits, '-' and '_'; "
            "not only hex digits (those read as version ids)"
        )


def ensure_available(project: Project, version: Version) -> None:
    """A version about to be served: local weights must verify; absent ones must be on the remote."""
    if version.path.is_dir():
        versions.check_weights(version)
        return
    local, on_remote = storage.availability(project.root, version.path, remote(project, required=False))
    if not (local or on_remote):
        raise StorageError(
            f"{version.ref}: its weights are available neither locally nor on the remote; "
            "push them from a machine that has them (`adapterctl push REF`) or choose another version"
        )


def move(registry: Registry, version: Version, env: str, *, action: str, message: str, forced: bool) -> MoveResult:
    """Move (env, version.name) to `version`, unless it is there already; the lock is held."""
    pointer = registry.pointer(env, version.name)
    before = pointer.version if pointer else ""
    if before == version.id:
        return MoveResult(version.name, env, version.id, before, moved=False)
    record = registry.move(version, env, action=action, message=message, forced=forced)
    return MoveResult(version.name, env, version.id, before, moved=True, move=record)
