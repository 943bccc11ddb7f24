"""`deploy`: point an environment at a version, after checking it may be served."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import versions
from adapterctl.core.errors import CheckFailed, StorageError, UsageError
from adapterctl.core.project import Project
from adapterctl.core.refs import is_env_name
from adapterctl.ops import changes_state
from adapterctl.ops.transfer import remote
from adapterctl.store import storage
from adapterctl.versions import Version
from adapterctl.versions.registry import Registry


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
    """Point `env` at the version REF names. Refuses corrupt, broken, unavailable or wrong-base
    weights (--force never overrides those), and (unless forced) versions whose card records
    failed eval gates."""
    check_env(env)
    registry = Registry(project)
    version = registry.resolve(ref)
    ensure_available(project, version)
    refusal = gate_refusal(project, version)
    if refusal and not force:
        raise CheckFailed(f"{refusal}; pass --ignore-gates to deploy it anyway")
    if refusal:  # the override is part of the environment's history
        message = f"{message} [forced: {refusal}]".strip()
    return move(registry, version, env, action="deploy", message=message, forced=bool(refusal))


def gate_refusal(project: Project, version: Version) -> str | None:
    """Why deploy refuses `version` without --ignore-gates: failed gates, or gates never evaluated."""
    from adapterctl import manifest
    from adapterctl.evaluation.gates import needs_eval

    gates = version.card.gates
    if gates is not None and gates.passed is False:
        failed = ", ".join(str(g) for g in gates.failed) or "see its card"
        return f"{version.ref} failed its eval gates ({failed})"
    declared = manifest.load(project.manifest_path).raw_adapters.get(version.name)
    why = needs_eval(version.card, declared.gates if declared else {})
    if why:
        return f"{version.ref} has eval gates but {why}: run `adapterctl eval {version.ref}` first"
    return None


def check_env(env: str) -> None:
    if not is_env_name(env):
        raise UsageError(
            f"invalid environment name {env!r}: start with a letter; letters, digits, '-' and '_'; "
            "not only hex digits (those read as version ids)"
        )


def ensure_available(project: Project, version: Version) -> None:
    """A version about to be served: its card must name the manifest's base; local weights must
    verify and pass the structural check; absent ones must be on the remote."""
    base = versions.manifest_base(project)
    if version.path.is_dir():
        base.admit(version)
        return
    base.check_identity(version)
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
