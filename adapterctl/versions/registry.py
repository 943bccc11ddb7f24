"""The registry: version cards and environment pointers, read once per command.

Deploy, rollback, log, status and show all need both the versions of a name and what each
environment serves. A `Registry` reads the environment pointers (environments/) once, each name's cards on first use,
and answers from memory after that (GTO's GitRegistry: typed versions + promotions). Build
a fresh one per command, and inside the project lock when the command changes state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl.core.project import Project
from adapterctl.core.refs import Ref
from adapterctl.store import environments
from adapterctl.store.environments import Environments, Pointer
from adapterctl.versions import store
from adapterctl.versions.store import Version


@dataclass
class Registry:
    """Cards and pointers of PROJECT; `Registry(project)` reads nothing until first asked."""

    project: Project
    _envs: Environments | None = None
    _logs: dict[str, list[Version]] = field(default_factory=dict)

    @property
    def envs(self) -> Environments:
        """environments/ENV/NAME.toml (or a legacy adapterctl.lock): environment → adapter → pointer (read once)."""
        if self._envs is None:
            self._envs = environments.load(self.project)
        return self._envs

    # ── versions ──

    def log(self, name: str) -> list[Version]:
        """Versions of NAME, newest first (read once)."""
        if name not in self._logs:
            self._logs[name] = store.log(self.project, name)
        return self._logs[name]

    def names(self) -> list[str]:
        """Every adapter with a folder under adapters/, sorted."""
        root = self.project.adapters_dir
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def all_versions(self) -> list[Version]:
        return [v for name in self.names() for v in self.log(name)]

    def resolve(self, ref: str | Ref, *, verify: bool = False) -> Version:
        """See versions.resolve; answered from this registry's cards and pointers."""
        from adapterctl.core.refs import parse_ref

        r = parse_ref(ref) if isinstance(ref, str) else ref
        envs = self.envs if r.kind == "env" else None  # the pointers are read only when needed
        return store.resolve(self.project, r, verify=verify, history=self.log(r.name), envs=envs)

    def by_id(self, name: str, vid: str) -> Version | None:
        return next((v for v in self.log(name) if v.id == vid), None)

    # ── environments ──

    def pointer(self, env: str, name: str) -> Pointer | None:
        return self.envs.get(env, {}).get(name)

    def serving(self, name: str) -> dict[str, list[str]]:
        """version id → the environments that serve it, for adapter NAME."""
        return environments.pointing_at(self.envs, name)

    def served_ids(self) -> set[str]:
        return {p.version for adapters in self.envs.values() for p in adapters.values()}

    def previous(self, env: str, name: str) -> str | None:
        """The id a plain rollback of (env, name) returns to, or None when there is none."""
        pointer = self.pointer(env, name)
        return environments.previous(pointer) if pointer else None

    def move(self, version: Version, env: str, *, action: str, message: str, forced: bool) -> dict[str, Any]:
        """Point env at version, log the move, and write its pointer file (caller holds the lock)."""
        record = environments.move(
            self.envs, env, version.name, version.id, action=action, message=message, forced=forced
        )
        environments.save(self.project, self.envs)
        return record.to_dict()  # as the pointer file holds it
