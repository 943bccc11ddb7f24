"""Reading the version store: the `Version` handle, the log of a name, resolving references.

A version of adapter NAME is two things side by side:

    adapters/NAME/<id>/      PEFT weights (adapter_config.json, adapter_model.safetensors),
                             DVC-tracked through adapters/NAME/<id>.dvc
    adapters/NAME/<id>.toml  its card, in git: lineage, hashes of every input, metrics

The id is `weights.content_id` of the folder, so the same content is the same version. A
version exists exactly when its card does. There is no shared history file: the log is
every card of NAME ordered by its parent chain and creation time, so two branches that each
register versions never touch the same file.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from pathlib import Path

from adapterctl import manifest
from adapterctl.core.errors import IntegrityError, ManifestError, RefError, StorageError
from adapterctl.core.project import Project
from adapterctl.core.refs import Ref, parse_ref, short
from adapterctl.core.suggest import closest
from adapterctl.store import environments, fingerprints, weights
from adapterctl.versions import card as cards
from adapterctl.versions.card import Card

ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Version:
    name: str
    id: str  # full 64-hex sha256; short form = `short`
    path: Path  # adapters/NAME/<id>/ (absolute)
    card: Card  # the parsed card adapters/NAME/<id>.toml

    @property
    def short(self) -> str:
        return short(self.id)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.short}"

    @property
    def card_path(self) -> Path:
        return self.path.with_name(f"{self.id}.toml")

    @property
    def created(self) -> str:
        return self.card.created

    @property
    def parent(self) -> str:
        return self.card.parent


def version_dir(project: Project, name: str, vid: str) -> Path:
    return project.adapter_dir(name) / vid


def read_card(path: Path) -> Card:
    return cards.load(path)


def _cards(project: Project, name: str) -> list[Version]:
    folder = project.adapter_dir(name)
    if not folder.is_dir():
        return []
    cache = fingerprints.FileCache(project)
    out = []
    for path in folder.glob("*.toml"):
        if ID.match(path.stem):
            data = cache.memo(path, "card", lambda p: cards.load(p).to_dict())
            out.append(Version(name, path.stem, folder / path.stem, cards.from_dict(data, path)))
    cache.save()
    return out


def log(project: Project, name: str) -> list[Version]:
    """Every version of NAME, newest first; a version always comes before its parent."""
    return _newest_first(_cards(project, name))


def _newest_first(versions: list[Version]) -> list[Version]:
    """Order by creation time, but never a parent after its child (clocks on two machines
    can disagree; the parent chain cannot)."""
    by_id = {v.id: v for v in versions}
    children: dict[str, list[Version]] = {}
    ready: list[tuple[str, str]] = []
    for v in versions:
        if v.parent in by_id and v.parent != v.id:
            children.setdefault(v.parent, []).append(v)
        else:
            heapq.heappush(ready, (v.created, v.id))
    oldest_first = []
    while ready:
        _, vid = heapq.heappop(ready)
        oldest_first.append(by_id[vid])
        for child in children.pop(vid, []):
            heapq.heappush(ready, (child.created, child.id))
    # Anything left sits on a parent cycle (hand-edited cards): append it by time.
    oldest_first += sorted((v for group in children.values() for v in group), key=lambda v: (v.created, v.id))
    return oldest_first[::-1]


def resolve(
    project: Project,
    ref: str | Ref,
    *,
    verify: bool = True,
    history: list[Version] | None = None,
    envs: environments.Environments | None = None,
) -> Version:
    """The version a reference names. With `verify`, its weights must be here and match the id.
    `history` (the name's log) and `envs` save re-reading them when the caller has them."""
    r = parse_ref(ref) if isinstance(ref, str) else ref
    versions = log(project, r.name) if history is None else history
    if not versions:
        raise RefError(_no_versions(project, r.name))
    if r.kind == "latest":
        version = versions[0]
    elif r.kind == "back":
        version = _walk_back(versions, r)
    elif r.kind == "id":
        version = _by_prefix(versions, r)
    else:
        version = _by_env(environments.load(project) if envs is None else envs, versions, r)
    if verify:
        check_weights(version)
    return version


def _no_versions(project: Project, name: str) -> str:
    try:
        declared = manifest.load(project.manifest_path).adapter_names
    except ManifestError:
        declared = []
    if name not in declared:
        known = sorted(set(declared) | {p.name for p in project.adapters_dir.glob("*") if p.is_dir()})
        close = closest(name, known)
        hint = f"; did you mean '{close}'?" if close else (f" (adapters: {', '.join(known)})" if known else "")
        return f"no adapter named '{name}'{hint}"
    return f"{name} has no versions yet: train it, or adopt one with `adapterctl import {name} PATH`"


def _walk_back(versions: list[Version], r: Ref) -> Version:
    by_id = {v.id: v for v in versions}
    version = versions[0]
    for step in range(r.steps_back):
        parent = by_id.get(version.parent)
        if parent is None:
            detail = "it is the first version" if not version.parent else "its parent's card is not on this branch"
            raise RefError(f"{r}: {version.ref} is {step} step(s) back and has no parent here ({detail})")
        version = parent
    return version


def _by_prefix(versions: list[Version], r: Ref) -> Version:
    matches = [v for v in versions if v.id.startswith(r.value)]
    if not matches:
        raise RefError(f"{r}: no version of {r.name} has an id starting with {r.value} (see `adapterctl log {r.name}`)")
    if len(matches) > 1:
        listed = ", ".join(f"{v.short} ({v.created[:19]}Z)" for v in matches)
        raise RefError(f"{r}: ambiguous id prefix, {len(matches)} versions match: {listed}; write more digits")
    return matches[0]


def _by_env(envs: environments.Environments, versions: list[Version], r: Ref) -> Version:
    if r.value not in envs:  # not an environment at all: never suggest deploying to a typo
        from adapterctl.core.suggest import closest

        close = closest(r.value, sorted(envs))
        hint = f"did you mean {r.name}@{close}?" if close else f"environments: {', '.join(sorted(envs)) or 'none yet'}"
        raise RefError(
            f"{r}: no environment named '{r.value}' ({hint}); a version id is 4 or more hex digits "
            f"(see `adapterctl log {r.name}`)"
        )
    pointer = envs.get(r.value, {}).get(r.name)
    if pointer is None or not pointer.version:
        raise RefError(
            f"{r}: environment '{r.value}' does not serve {r.name} (deploy one with `adapterctl deploy {r.name} --env {r.value}`)"
        )
    for v in versions:
        if v.id == pointer.version:
            return v
    raise RefError(
        f"{r}: {r.value} points at {r.name}@{short(pointer.version)}, whose card "
        f"(adapters/{r.name}/{pointer.version}.toml) is not on this branch; merge the branch that registered it"
    )


def check_weights(version: Version) -> None:
    """The local weights exist, are well-formed safetensors, hash to the version's id, and
    every file in the folder matches the card's `files` table (when the card has one);
    never load them otherwise."""
    problem = weights_problem(version)
    if problem:
        raise IntegrityError(
            f"{version.ref}: {problem}: modified or corrupted; restore them with `adapterctl pull {version.ref}`"
        )


def weights_problem(version: Version) -> str | None:
    """What is wrong with the local copy of a version, in one phrase; None when it verifies.
    Absent weights are a StorageError (fetch them), not a problem with them."""
    if not (version.path / weights.WEIGHTS).is_file():
        raise StorageError(
            f"{version.ref}: weights not available locally ({version.path}); "
            f"fetch them with `adapterctl pull {version.ref}`"
        )
    try:
        actual = weights.content_id(version.path)
    except IntegrityError as exc:
        return str(exc)
    if actual != version.id:
        return f"the weights in {version.path} do not match the recorded id (they hash to {short(actual)})"
    recorded = version.card.files
    if recorded is None:
        return None  # a card from before the files table: the id covers config and tensors
    present = weights.file_hashes(version.path)
    for name in sorted(set(recorded.names()) | set(present)):
        if name not in present:
            return f"{version.path / name} is missing"
        if name not in recorded:
            return f"{version.path / name} is not part of the version (its card records no such file)"
        if present[name] != recorded.digest(name):
            return f"{version.path / name} does not match the sha256 in its card"
    return None


def all_versions(project: Project) -> list[Version]:
    """Every version of every adapter with a folder under adapters/, by name then newest first."""
    out: list[Version] = []
    if project.adapters_dir.is_dir():
        for folder in sorted(p for p in project.adapters_dir.iterdir() if p.is_dir()):
            out += log(project, folder.name)
    return out
