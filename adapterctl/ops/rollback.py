"""`rollback`: move an environment's pointer back to its previous version, or to a named one."""

from __future__ import annotations

from adapterctl.core.errors import RefError, UsageError
from adapterctl.core.project import Project
from adapterctl.core.refs import target_for
from adapterctl.ops import changes_state
from adapterctl.ops.deploy import MoveResult, check_env, ensure_available, move
from adapterctl.versions import short
from adapterctl.versions.registry import Registry


@changes_state
def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = "") -> MoveResult:
    """Move `env`'s pointer for NAME back to its previous target, or to `to`."""
    check_env(env)
    registry = Registry(project)
    if not registry.log(name):
        registry.resolve(name)  # raises "no adapter named NAME" (with a did-you-mean) or "no versions yet"
    pointer = registry.pointer(env, name)
    if pointer is None or not pointer.version:
        raise UsageError(f"{env} has never served {name}: nothing to roll back (deploy with `adapterctl deploy`)")
    if to is not None:
        ref = target_for(name, to)
        if ref.name != name:
            raise UsageError(f"--to {to}: names adapter {ref.name}, not {name}")
        target = registry.resolve(ref)
    else:
        target_id = registry.previous(env, name)
        if target_id is None:
            raise UsageError(f"{env} has no earlier version of {name} to roll back to; name one with --to REF")
        found = registry.by_id(name, target_id)
        if found is None:
            raise RefError(
                f"{env}'s previous {name} version {short(target_id)} has no card on this branch "
                f"(adapters/{name}/{target_id}.toml); merge the branch that registered it, or use --to REF"
            )
        target = found
    if target.id == pointer.version:
        raise UsageError(f"{env} already serves {target.ref}")
    ensure_available(project, target)
    return move(registry, target, env, action="rollback", message=message, forced=False)
