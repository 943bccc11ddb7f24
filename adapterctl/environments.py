"""Environments: movable pointers (environment, adapter) → version id, with every move logged.

They live in adapterctl.lock, a TOML file committed with the cards:

    [environments.prod.support]
    version = "3f2a9c1e…"

    [[environments.prod.support.moves]]
    at = "2026-11-28T09:45:00.123456Z"
    action = "deploy"
    from = ""
    to = "3f2a9c1e…"
    forced = false
    message = "first release"

One table per environment and adapter, one block per move: two branches that deploy
different adapters edit different hunks and merge cleanly; two branches that move the same
pointer conflict, as they should. This module only reads and writes the file; callers
hold the project lock and check versions (see ops/deploy.py, ops/rollback.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from adapterctl.errors import ManifestError
from adapterctl.project import Project, atomic_write
from adapterctl.tomlread import tomllib

HEADER = (
    "# adapterctl environments: the version each environment serves, and every move.\n"
    "# Written by `adapterctl deploy` and `adapterctl rollback`; commit it with the version cards.\n\n"
)


@dataclass
class Pointer:
    env: str
    name: str
    version: str  # full version id
    moves: list[dict[str, Any]] = field(default_factory=list)  # oldest first: at, action, from, to, forced, message


Environments = dict[str, dict[str, Pointer]]  # env → adapter name → pointer


def load(project: Project) -> Environments:
    path = project.envs_path
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        hint = " (unresolved git merge conflict?)" if "<<<<<<<" in path.read_text(encoding="utf-8") else ""
        raise ManifestError(f"{path.name}: invalid TOML{hint}: {exc}") from None
    out: Environments = {}
    for env, adapters in doc.get("environments", {}).items():
        for name, table in adapters.items():
            out.setdefault(env, {})[name] = Pointer(env, name, table.get("version", ""), list(table.get("moves", [])))
    return out


def save(project: Project, envs: Environments) -> None:
    import tomli_w

    doc = {
        "environments": {
            env: {
                name: {"version": p.version, "moves": p.moves}
                for name, p in sorted(adapters.items())
            }
            for env, adapters in sorted(envs.items())
            if adapters
        }
    }
    atomic_write(project.envs_path, HEADER + tomli_w.dumps(doc))


def now() -> str:
    """UTC with microseconds: sorts as text, and orders moves made in quick succession."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def move(
    envs: Environments, env: str, name: str, to: str, *, action: str, message: str = "", forced: bool = False
) -> dict[str, Any]:
    """Point (env, name) at version `to` and log the move; returns the move."""
    pointer = envs.setdefault(env, {}).setdefault(name, Pointer(env, name, ""))
    record = {
        "at": now(),
        "action": action,
        "from": pointer.version,
        "to": to,
        "forced": forced,
        "message": message,
    }
    pointer.moves.append(record)
    pointer.version = to
    return record


def previous(pointer: Pointer) -> str | None:
    """The version a plain rollback returns to, or None when there is none.

    The moves are replayed onto a path of targets: moving to a version already on the path
    cuts the path back to it (a rollback, or redeploying an older version), anything else
    extends it. Deploy A, B, C, then rollback twice: C → B → A, never back to C.
    """
    path: list[str] = []
    for m in pointer.moves:
        to = m.get("to", "")
        if to in path:
            del path[path.index(to) + 1 :]
        else:
            path.append(to)
    if not path or path[-1] != pointer.version:  # hand-edited or merged: trust the pointer
        path.append(pointer.version)
    return path[-2] if len(path) >= 2 else None


def pointing_at(envs: Environments, name: str) -> dict[str, list[str]]:
    """version id → the environments that serve it, for adapter `name`."""
    out: dict[str, list[str]] = {}
    for env, adapters in sorted(envs.items()):
        pointer = adapters.get(name)
        if pointer and pointer.version:
            out.setdefault(pointer.version, []).append(env)
    return out
