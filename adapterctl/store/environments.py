"""Environments: movable pointers (environment, adapter) → version id, with every move logged.

Each pointer is one small TOML file, committed with the cards:

    environments/prod/support.toml

    version = "3f2a9c1e…"

    [[moves]]
    at = "2026-11-28T09:45:00.123456Z"
    action = "deploy"
    from = ""
    to = "3f2a9c1e…"
    forced = false
    message = "first release"

One file per pointer is what makes git merge them line-wise: two branches that move
different pointers (even two adapters deployed to a brand-new environment) touch different
files and never conflict; two branches that move the same pointer both rewrite its
`version` line and append at its end, so git conflicts, and `load` names the file with
"unresolved git merge conflict?" until it is resolved.

Projects made before this layout kept every pointer in one file, adapterctl.lock
(`[environments.ENV.NAME]` tables). `load` still reads it; the next `save` writes the
per-pointer files and then deletes it, so an interrupted migration reads back as before.
This module only reads and writes the files; callers hold the project lock and check
versions (see ops/deploy.py, ops/rollback.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from adapterctl.core import tomlread
from adapterctl.core.errors import ManifestError, MergeConflict
from adapterctl.core.project import Project, atomic_write
from adapterctl.core.records import Record
from adapterctl.core.tomlread import tomllib

ENVS_DIR = "environments"
HEADER = (
    "# adapterctl: the version this environment serves for this adapter, and every move.\n"
    "# Written by `adapterctl deploy` and `adapterctl rollback`; commit it with the version cards.\n\n"
)


class Move(Record):
    """One `[[moves]]` entry of a pointer file: who moved it where, when and why."""

    at: str = ""  # UTC, microseconds: sorts as text
    action: str = ""  # deploy | rollback
    from_: str = Field("", alias="from")  # the version id before ("" for the first deploy)
    to: str = ""  # the version id after
    forced: bool = False  # deployed past failed eval gates
    message: str = ""


@dataclass
class Pointer:
    env: str
    name: str
    version: str  # full version id
    moves: list[Move] = field(default_factory=list)  # oldest first


Environments = dict[str, dict[str, Pointer]]  # env → adapter name → pointer


def envs_dir(project: Project) -> Path:
    return project.root / ENVS_DIR


def pointer_path(project: Project, env: str, name: str) -> Path:
    return envs_dir(project) / env / f"{name}.toml"


def paths(project: Project) -> list[Path]:
    """Every file `load` reads, sorted: the per-pointer files and a not yet migrated
    adapterctl.lock. For watchers (a server following moves)."""
    found = sorted(envs_dir(project).glob("*/*.toml"))
    legacy = project.legacy_envs_path
    return [*([legacy] if legacy.is_file() else []), *(p for p in found if not p.name.startswith("."))]


def fingerprint(project: Project) -> str:
    """Changes whenever any pointer or its history changes (a hash of every file `load` reads);
    cheap enough to poll: the files are small."""
    digest = hashlib.sha256()
    for path in paths(project):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # replaced or removed between listing and reading
            continue
        digest.update(project.relpath(path).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def _read_toml(project: Project, path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        if tomlread.has_conflict_markers(text):
            raise MergeConflict(
                f"{project.relpath(path)}: unresolved git merge conflict; choose one `version` "
                "(keep both `[[moves]]` entries), then `git add` it"
            ) from None
        raise ManifestError(f"{project.relpath(path)}: invalid TOML: {exc}") from None


def _pointer(project: Project, path: Path, env: str, name: str, table: Any) -> Pointer:
    if not isinstance(table, dict) or not isinstance(table.get("version", ""), str):
        raise ManifestError(f"{project.relpath(path)}: {env}.{name}: expected a table with a text `version`")
    moves = table.get("moves", [])
    if not isinstance(moves, list) or not all(isinstance(m, dict) for m in moves):
        raise ManifestError(f"{project.relpath(path)}: {env}.{name}: `moves` must be an array of tables")
    try:
        return Pointer(env, name, table.get("version", ""), [Move.model_validate(m) for m in moves])
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ManifestError(f"{project.relpath(path)}: {env}.{name}: moves: {key}: {err['msg']}") from None


def load(project: Project) -> Environments:
    """Every pointer: the legacy adapterctl.lock first, then the per-pointer files, which win."""
    out: Environments = {}
    legacy = project.legacy_envs_path
    if legacy.is_file():
        environments = _read_toml(project, legacy).get("environments", {})
        if not isinstance(environments, dict):
            raise ManifestError(f"{legacy.name}: `environments` must be a table")
        for env, adapters in environments.items():
            if not isinstance(adapters, dict):
                raise ManifestError(f"{legacy.name}: environments.{env} must be a table")
            for name, table in adapters.items():
                out.setdefault(env, {})[name] = _pointer(project, legacy, env, name, table)
    for path in paths(project):
        if path != legacy:
            env, name = path.parent.name, path.stem
            out.setdefault(env, {})[name] = _pointer(project, path, env, name, _read_toml(project, path))
    return out


def _dump(pointer: Pointer) -> str:
    import tomli_w

    return HEADER + tomli_w.dumps({"version": pointer.version, "moves": [m.to_dict() for m in pointer.moves]})


def save(project: Project, envs: Environments) -> None:
    """Write the pointers that changed (each file atomically), remove the files of pointers no
    longer in `envs` and the temporary files of killed writers, then retire adapterctl.lock. A kill part-way leaves files that `load`
    reads back as either the old or the new state of each pointer."""
    wanted = {
        pointer_path(project, env, name): _dump(p) for env, adapters in envs.items() for name, p in adapters.items()
    }
    for path, text in wanted.items():
        try:
            unchanged = path.read_text(encoding="utf-8") == text
        except (FileNotFoundError, UnicodeDecodeError):
            unchanged = False
        if not unchanged:
            atomic_write(path, text)
    legacy = project.legacy_envs_path
    for debris in envs_dir(project).glob("*/.*.tmp"):  # a writer killed mid-write (we hold the lock)
        debris.unlink(missing_ok=True)
    for path in paths(project):
        if path != legacy and path not in wanted:
            path.unlink(missing_ok=True)
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
    legacy.unlink(missing_ok=True)


def now() -> str:
    """UTC with microseconds: sorts as text, and orders moves made in quick succession."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def move(
    envs: Environments, env: str, name: str, to: str, *, action: str, message: str = "", forced: bool = False
) -> Move:
    """Point (env, name) at version `to` and log the move; returns the move."""
    pointer = envs.setdefault(env, {}).setdefault(name, Pointer(env, name, ""))
    record = Move.model_validate(
        {"at": now(), "action": action, "from": pointer.version, "to": to, "forced": forced, "message": message}
    )
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
        to = m.to
        if to in path:
            del path[path.index(to) + 1 :]
        else:
            path.append(to)
    if not path or path[-1] != pointer.version:  # hand-edited or merged: trust the pointer
        path.append(pointer.version)
    return path[-2] if len(path) >= 2 else None


def served(project: Project, env: str) -> dict[str, str]:
    """adapter name → the version id `env` points at (pointers with no version left out)."""
    return {name: p.version for name, p in load(project).get(env, {}).items() if p.version}


def pointing_at(envs: Environments, name: str) -> dict[str, list[str]]:
    """version id → the environments that serve it, for adapter `name`."""
    out: dict[str, list[str]] = {}
    for env, adapters in sorted(envs.items()):
        pointer = adapters.get(name)
        if pointer and pointer.version:
            out.setdefault(pointer.version, []).append(env)
    return out
