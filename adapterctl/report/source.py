"""Cards, eval results and environments as a project holds them, in its working tree or at a
git revision. `report` and `check` read only these committed files: no weights, no DVC."""

from __future__ import annotations

import re
import sys
from typing import Any

from adapterctl.core.errors import IntegrityError
from adapterctl.core.project import LEGACY_ENVS_FILE, Project
from adapterctl.evaluation import results
from adapterctl.store import gitio
from adapterctl.versions.card import Card, from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

CARD = re.compile(r"^([0-9a-f]{64})\.toml$")

__all__ = ["Card", "Source", "latest_eval"]  # Card: the typed card, as report reads it


class Source:
    """One snapshot of the project: `ref` None is the working tree."""

    def __init__(self, project: Project, ref: str | None = None):
        self.project, self.ref = project, ref
        self._sha: str | None = None

    @property
    def sha(self) -> str:
        """The commit `ref` names, resolved once: every file is then read at that one commit."""
        if self._sha is None:
            assert self.ref is not None
            self._sha = gitio.commit_at(self.project.root, self.ref)
        return self._sha

    @property
    def label(self) -> str:
        """How messages name this snapshot: the ref and its commit, or "working tree"."""
        if self.ref is None:
            return "working tree"
        return f"{self.ref}, commit {self.sha[:12]}"

    def toml(self, rel: str) -> dict[str, Any]:
        """A TOML file of the snapshot ({} when absent); a broken one is named with its commit and path."""
        text = self.read(rel)
        if not text:
            return {}
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IntegrityError(f"{rel} ({self.label}): invalid TOML: {exc}") from None

    def read(self, rel: str) -> str | None:
        if self.ref is None:
            path = self.project.root / rel
            return path.read_text(encoding="utf-8") if path.is_file() else None
        return gitio.read_at(self.project.root, self.sha, rel, shown=self.ref)

    def adapter_names(self) -> list[str]:
        if self.ref is None:
            folder = self.project.adapters_dir
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return sorted(gitio.list_dirs_at(self.project.root, self.sha, "adapters"))

    def cards(self, name: str) -> list[Card]:
        """Every card of adapter `name`, newest first."""
        if self.ref is None:
            folder = self.project.adapter_dir(name)
            files = [f"adapters/{name}/{p.name}" for p in folder.glob("*.toml")] if folder.is_dir() else []
        else:
            files = gitio.list_at(self.project.root, self.sha, f"adapters/{name}")
        out = []
        for rel in files:
            m = CARD.match(rel.rsplit("/", 1)[-1])
            if m:
                out.append(self._card(rel, name, m.group(1)))
        return sorted(out, key=lambda c: (c.created, c.id), reverse=True)

    def _card(self, rel: str, name: str, version_id: str) -> Card:
        text = self.read(rel) or ""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IntegrityError(f"{rel} ({self.label}): invalid version card: {exc}") from None
        # the file name is the truth for name and id, as it was before cards were typed
        return from_dict({**data, "name": name, "id": version_id}, f"{rel} ({self.label})")

    def environments(self) -> dict[str, dict[str, str]]:
        """env → adapter → version id: environments/ENV/NAME.toml, or a pre-layout adapterctl.lock."""
        out: dict[str, dict[str, str]] = {}
        doc = self.toml(LEGACY_ENVS_FILE)
        envs = doc.get("environments", {})
        for env, adapters in (envs if isinstance(envs, dict) else {}).items():
            if isinstance(adapters, dict):
                out.setdefault(env, {}).update({name: _version_of(t) for name, t in adapters.items()})
        for env in self._dirs("environments"):
            for rel in self._files(f"environments/{env}"):
                if rel.endswith(".toml"):
                    out.setdefault(env, {})[rel.rsplit("/", 1)[-1][: -len(".toml")]] = _version_of(self.toml(rel))
        return out

    def _dirs(self, rel: str) -> list[str]:
        if self.ref is None:
            folder = self.project.root / rel
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return sorted(gitio.list_dirs_at(self.project.root, self.sha, rel))

    def _files(self, rel: str) -> list[str]:
        if self.ref is None:
            folder = self.project.root / rel
            return sorted(f"{rel}/{p.name}" for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        return sorted(gitio.list_at(self.project.root, self.sha, rel))

    def result(self, card: Card, key: str | None = None) -> results.EvalResult | None:
        """The card's eval results for `key` (default: its most recent eval)."""
        entry = latest_eval(card, key)
        if entry is None:
            return None
        text = self.read(entry["results"])
        return results.parse(text, entry["results"]) if text else None

    def baseline(self, card: Card, key: str | None = None) -> results.EvalResult | None:
        entry = latest_eval(card, key)
        if entry is None or not entry.get("baseline"):
            return None
        text = self.read(entry["baseline"])
        return results.parse(text, entry["baseline"]) if text else None


def _version_of(pointer: Any) -> str:
    """A pointer table's version id; "" when the table says none (or is not a table)."""
    version = pointer.get("version", "") if isinstance(pointer, dict) else ""
    return version if isinstance(version, str) else ""


def latest_eval(card: Card, key: str | None = None) -> dict[str, Any] | None:
    """The evals entry for `key`, or the most recent one; its key is added as `key`."""
    entries = card.evals()
    if key is not None:
        return {**entries[key].to_dict(), "key": key} if key in entries else None
    if not entries:
        return None
    newest = max(entries, key=lambda k: entries[k].created)
    return {**entries[newest].to_dict(), "key": newest}
