"""Moving versions: between environments (deploy, rollback), between this machine and the
DVC remote (push, pull, resolve --pull), and off this machine (gc).

Every path that hands weights onward verifies them against their id first; a mismatch is
an IntegrityError, which no --force overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import environments, manifest, storage, ui, versions
from adapterctl.errors import CheckFailed, IntegrityError, ReferenceError_, StorageError, UsageError
from adapterctl.project import Project
from adapterctl.refs import is_env_name, parse_ref
from adapterctl.versions import Version


@dataclass
class MoveResult:
    name: str
    env: str
    version: str  # full id now served
    previous: str  # full id served before ("" if none)
    moved: bool  # False when the environment already served that version
    move: dict[str, Any] = field(default_factory=dict)
    sync: Any = None  # serve.vllm.SyncReport when the environment drives a server


def _remote(project: Project, *, required: bool) -> str | None:
    preferred = manifest.load(project.manifest_path).project.remote
    name = storage.remote_name(project.root, preferred)
    if name is None and required:
        raise StorageError(
            "no DVC remote configured: add one with `dvc remote add -d NAME URL` "
            "(or create the project with `adapterctl init --remote PATH`)"
        )
    return name


def ensure_available(project: Project, version: Version) -> None:
    """A version about to be served: local weights must verify; absent ones must be on the remote."""
    if version.path.is_dir():
        versions.check_weights(version)
        return
    local, remote = storage.availability(project.root, version.path, _remote(project, required=False))
    if not (local or remote):
        raise StorageError(
            f"{version.ref}: its weights are available neither locally nor on the remote; "
            "push them from a machine that has them (`adapterctl push REF`) or choose another version"
        )


def _check_env(env: str) -> None:
    if not is_env_name(env):
        raise UsageError(
            f"invalid environment name {env!r}: start with a letter; letters, digits, '-' and '_'; "
            "not only hex digits (those read as version ids)"
        )


def deploy(project: Project, ref: str, env: str, *, message: str = "", force: bool = False) -> MoveResult:
    """Point `env` at the version REF names. Refuses corrupt or unavailable weights, and (unless
    forced) versions whose card records failed eval gates."""
    _check_env(env)
    with versions.changing(project):
        version = versions.resolve(project, ref, verify=False)
        ensure_available(project, version)
        gates = version.card.get("gates", {})
        if isinstance(gates, dict) and gates.get("passed") is False and not force:
            failed = ", ".join(str(g) for g in gates.get("failed", [])) or "see its card"
            raise CheckFailed(f"{version.ref} failed its eval gates ({failed}); pass --force to deploy it anyway")
        return _move(project, version, env, action="deploy", message=message, forced=force)


def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = "") -> MoveResult:
    """Move `env`'s pointer for NAME back to its previous target, or to `to`."""
    _check_env(env)
    with versions.changing(project):
        envs = environments.load(project)
        pointer = envs.get(env, {}).get(name)
        if pointer is None or not pointer.version:
            raise UsageError(f"{env} has never served {name}: nothing to roll back (deploy with `adapterctl deploy`)")
        if to is not None:
            ref = parse_ref(to) if "@" in to or to == name else parse_ref(f"{name}@{to}")
            if ref.name != name:
                raise UsageError(f"--to {to}: names adapter {ref.name}, not {name}")
            target = versions.resolve(project, ref, verify=False)
        else:
            target_id = environments.previous(pointer)
            if target_id is None:
                raise UsageError(f"{env} has no earlier version of {name} to roll back to; name one with --to REF")
            target = _by_id(project, name, target_id, env)
        if target.id == pointer.version:
            raise UsageError(f"{env} already serves {target.ref}")
        ensure_available(project, target)
        return _move(project, target, env, action="rollback", message=message, forced=False)


def _by_id(project: Project, name: str, vid: str, env: str) -> Version:
    for v in versions.log(project, name):
        if v.id == vid:
            return v
    raise ReferenceError_(
        f"{env}'s previous {name} version {vid[:12]} has no card on this branch "
        f"(adapters/{name}/{vid}.toml); merge the branch that registered it, or use --to REF"
    )


def _move(project: Project, version: Version, env: str, *, action: str, message: str, forced: bool) -> MoveResult:
    envs = environments.load(project)
    pointer = envs.get(env, {}).get(version.name)
    before = pointer.version if pointer else ""
    if before == version.id:
        return MoveResult(version.name, env, version.id, before, moved=False)
    record = environments.move(envs, env, version.name, version.id, action=action, message=message, forced=forced)
    environments.save(project, envs)
    return MoveResult(version.name, env, version.id, before, moved=True, move=record)


# ── the remote ────────────────────────────────────────────────────────────────


@dataclass
class TransferResult:
    remote: str
    targets: list[str]  # version refs, or ["everything"]
    files: int = 0  # objects transferred (push) ; versions verified (pull)
    verified: list[str] = field(default_factory=list)


def push(project: Project, ref: str | None = None) -> TransferResult:
    """Upload one version's weights, or every DVC-tracked output (versions, data, base)."""
    remote = _remote(project, required=True)
    assert remote is not None
    if ref is None:
        return TransferResult(remote, ["everything"], storage.push(project.root, None, remote))
    version = versions.resolve(project, ref, verify=False)
    moved = storage.push(project.root, [version.path], remote)
    if not storage.availability(project.root, version.path, remote)[1]:  # DVC only warns when objects are missing
        raise StorageError(f"{version.ref}: not pushed: its weights are not in this machine's DVC cache")
    return TransferResult(remote, [version.ref], moved)


def pull(project: Project, ref: str | None = None) -> TransferResult:
    """Download one version (only that one) or everything tracked; downloaded weights are verified."""
    remote = _remote(project, required=True)
    assert remote is not None
    with versions.changing(project):
        if ref is not None:
            version = versions.resolve(project, ref, verify=False)
            storage.pull(project.root, [version.path], remote, force=True)
            versions.check_weights(version)
            return TransferResult(remote, [version.ref], 1, [version.ref])
        every = all_versions(project)
        if every:  # versions first and forced; then the rest, keeping the user's unsaved data edits
            storage.pull(project.root, [v.path for v in every], remote, force=True)
        storage.pull(project.root, None, remote)
        for v in every:
            versions.check_weights(v)
        return TransferResult(remote, ["everything"], len(every), [v.ref for v in every])


def local_path(project: Project, ref: str, *, pull: bool = False) -> Version:
    """The verified local version REF names, for deployment scripts; fetched first with `pull`."""
    version = versions.resolve(project, ref, verify=False)
    if pull:
        try:
            versions.check_weights(version)
            return version
        except IntegrityError:
            ui.warn(f"{version.ref}: the local copy does not match its id; fetching a fresh copy")
        except StorageError:
            pass  # not here yet: fetch it
        remote = _remote(project, required=True)
        with versions.changing(project):
            storage.pull(project.root, [version.path], remote, force=True)
    versions.check_weights(version)
    return version


def all_versions(project: Project) -> list[Version]:
    out: list[Version] = []
    if project.adapters_dir.is_dir():
        for folder in sorted(p for p in project.adapters_dir.iterdir() if p.is_dir()):
            out += versions.log(project, folder.name)
    return out


# ── gc ────────────────────────────────────────────────────────────────────────


@dataclass
class GcEntry:
    ref: str
    id: str
    reason: str  # why it goes, or why it stays


@dataclass
class GcResult:
    dry_run: bool
    keep_last: int
    remove: list[GcEntry]
    kept: list[GcEntry]  # unneeded but kept: not safely on the remote
    freed_bytes: int = 0


def gc(project: Project, *, keep_last: int = 3, force: bool = False) -> GcResult:
    """Drop local copies (workspace folder and DVC cache objects) of versions that no environment
    and none of the last `keep_last` log entries need. Only versions the remote holds go:
    gc never deletes the last copy. Cards stay, so history and `pull` keep working."""
    if keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    remote = _remote(project, required=False)
    with versions.changing(project):
        envs = environments.load(project)
        served = {p.version for adapters in envs.values() for p in adapters.values()}
        remove, kept, stay = [], [], []
        by_name: dict[str, list[Version]] = {}
        for v in all_versions(project):
            by_name.setdefault(v.name, []).append(v)
        for vs in by_name.values():
            recent = {v.id for v in vs[:keep_last]}
            for v in vs:
                if v.id in served or v.id in recent:
                    stay.append(v)
                    continue
                local, on_remote = storage.availability(project.root, v.path, remote)
                if not local:
                    stay.append(v)
                elif not on_remote:
                    kept.append(GcEntry(v.ref, v.id, "not on the remote: push it first"))
                    stay.append(v)
                else:
                    remove.append((v, GcEntry(v.ref, v.id, "not served, not recent, on the remote")))
        freed = 0
        if force:
            keep_paths = [v.path for v in stay]
            for v, _ in remove:
                freed += storage.drop_local(project.root, v.path, keep_paths)
        return GcResult(not force, keep_last, [e for _, e in remove], kept, freed)
