"""The version store: content-addressed adapter versions, their cards, the log, resolution.

A version of adapter NAME is two things side by side:

    adapters/NAME/<id>/      PEFT weights (adapter_config.json, adapter_model.safetensors),
                             DVC-tracked through adapters/NAME/<id>.dvc
    adapters/NAME/<id>.toml  its card, in git: lineage, hashes of every input, metrics

The id is `weights.content_id` of the folder, so the same content is the same version. The
card is written last and atomically: a version exists exactly when its card does. There is
no shared history file: the log is every card of NAME ordered by its parent chain and
creation time, so two branches that each register versions never touch the same file.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapterctl import environments, fingerprints, manifest, storage, ui, weights
from adapterctl.errors import (
    IntegrityError,
    Interrupted,
    ManifestError,
    ReferenceError_,
    StorageError,
    UsageError,
)
from adapterctl.manifest import AdapterSpec
from adapterctl.project import Project, atomic_write
from adapterctl.refs import Ref, parse_ref

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CARD_SCHEMA = 1
ID = re.compile(r"^[0-9a-f]{64}$")
LIBRARIES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets")
TEST_HOOK = "ADAPTERCTL_TEST_HOOK"  # "POINT:exit" or "POINT:sleep": lets tests interrupt a registration
# Ignores version folders in git, so `dvc add` leaves adapters/NAME/.gitignore alone (two
# branches would conflict on it). "*?" and not "*": DVC's gitignore matcher would also match
# adapters/NAME/ itself and skip every version's .dvc file (then `dvc pull` deletes versions).
IGNORE_VERSIONS = "/adapters/*/*?/"
_IGNORE_VERSIONS_OLD = "/adapters/*/*/"


@dataclass(frozen=True)
class Version:
    name: str
    id: str  # full 64-hex sha256; short form = id[:12]
    path: Path  # adapters/NAME/<id>/ (absolute)
    card: dict  # the parsed card adapters/NAME/<id>.toml

    @property
    def short(self) -> str:
        return self.id[:12]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.short}"

    @property
    def card_path(self) -> Path:
        return self.path.with_name(f"{self.id}.toml")

    @property
    def created(self) -> str:
        return str(self.card.get("created", ""))

    @property
    def parent(self) -> str:
        return str(self.card.get("parent", ""))


def version_dir(project: Project, name: str, vid: str) -> Path:
    return project.adapter_dir(name) / vid


# ── reading ───────────────────────────────────────────────────────────────────


def read_card(path: Path) -> dict[str, Any]:
    try:
        card = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        text = path.read_text(encoding="utf-8", errors="replace")
        hint = " (unresolved git merge conflict?)" if "<<<<<<<" in text else ""
        raise IntegrityError(f"{path}: invalid version card{hint}: {exc}") from None
    if card.get("id") != path.stem:
        raise IntegrityError(f"{path}: the card's id {card.get('id')!r} does not match its file name")
    card.setdefault("metrics", {})
    return card


def _cards(project: Project, name: str) -> list[Version]:
    folder = project.adapter_dir(name)
    if not folder.is_dir():
        return []
    cache = fingerprints.FileCache(project)
    out = []
    for path in folder.glob("*.toml"):
        if ID.match(path.stem):
            out.append(Version(name, path.stem, folder / path.stem, cache.memo(path, "card", read_card)))
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


def resolve(project: Project, ref: str | Ref, *, verify: bool = True) -> Version:
    """The version a reference names. With `verify`, its weights must be here and match the id."""
    r = parse_ref(ref) if isinstance(ref, str) else ref
    versions = log(project, r.name)
    if not versions:
        raise ReferenceError_(_no_versions(project, r.name))
    if r.kind == "latest":
        version = versions[0]
    elif r.kind == "back":
        version = _walk_back(versions, r)
    elif r.kind == "id":
        version = _by_prefix(versions, r)
    else:
        version = _by_env(project, versions, r)
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
        from difflib import get_close_matches

        close = get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else (f" (adapters: {', '.join(known)})" if known else "")
        return f"no adapter named '{name}'{hint}"
    return f"{name} has no versions yet: train it, or adopt one with `adapterctl import {name} PATH`"


def _walk_back(versions: list[Version], r: Ref) -> Version:
    by_id = {v.id: v for v in versions}
    version = versions[0]
    for step in range(r.steps_back):
        parent = by_id.get(version.parent)
        if parent is None:
            detail = "it is the first version" if not version.parent else "its parent's card is not on this branch"
            raise ReferenceError_(f"{r}: {version.ref} is {step} step(s) back and has no parent here ({detail})")
        version = parent
    return version


def _by_prefix(versions: list[Version], r: Ref) -> Version:
    matches = [v for v in versions if v.id.startswith(r.value)]
    if not matches:
        raise ReferenceError_(f"{r}: no version of {r.name} has an id starting with {r.value} (see `adapterctl log {r.name}`)")
    if len(matches) > 1:
        listed = ", ".join(f"{v.short} ({v.created[:19]}Z)" for v in matches)
        raise ReferenceError_(f"{r}: ambiguous id prefix, {len(matches)} versions match: {listed}; write more digits")
    return matches[0]


def _by_env(project: Project, versions: list[Version], r: Ref) -> Version:
    pointer = environments.load(project).get(r.value, {}).get(r.name)
    if pointer is None or not pointer.version:
        raise ReferenceError_(f"{r}: environment '{r.value}' does not serve {r.name} (deploy one with `adapterctl deploy {r.name} --env {r.value}`)")
    for v in versions:
        if v.id == pointer.version:
            return v
    raise ReferenceError_(
        f"{r}: {r.value} points at {r.name}@{pointer.version[:12]}, whose card "
        f"(adapters/{r.name}/{pointer.version}.toml) is not on this branch; merge the branch that registered it"
    )


def check_weights(version: Version) -> None:
    """The local weights exist and hash to the version's id; never load them otherwise."""
    if not (version.path / weights.WEIGHTS).is_file():
        raise StorageError(
            f"{version.ref}: weights not available locally ({version.path}); "
            f"fetch them with `adapterctl pull {version.ref}`"
        )
    actual = weights.content_id(version.path)
    if actual != version.id:
        raise IntegrityError(
            f"{version.ref}: the weights in {version.path} do not match the recorded id "
            f"(they hash to {actual[:12]}): modified or corrupted; restore them with `adapterctl pull {version.ref}`"
        )


# ── registering ───────────────────────────────────────────────────────────────


def register(
    project: Project,
    name: str,
    weights_dir: Path,
    *,
    spec: AdapterSpec,
    message: str = "",
    training: dict | None = None,
    extra_files: Sequence[Path] = (),
    card_extra: dict | None = None,
) -> Version:
    """Adopt a PEFT save_pretrained folder as a version of NAME; see the module docstring.

    Weights are staged and hashed first; then the folder is moved into place, dvc-added and
    pushed (when a remote is configured); the card is written last, atomically, and that
    makes the version visible. Any failure or kill before then leaves nothing behind (the
    next state change, or `log`, removes what an abrupt kill left). Same content again:
    the existing version is returned and nothing changes.
    """
    manifest.check_adapter_name(name)
    weights.check_folder(Path(weights_dir))
    m = manifest.load(project.manifest_path)
    with changing(project), _terminate_raises():
        _ensure_versions_ignored(project)
        staging = project.state_dir / "staging" / uuid.uuid4().hex
        try:
            _stage(Path(weights_dir), staging, extra_files, m.base)
            vid = weights.content_id(staging)
            _test_hook("staged")
            final = version_dir(project, name, vid)
            if final.with_name(f"{vid}.toml").exists():
                return Version(name, vid, final, read_card(final.with_name(f"{vid}.toml")))
            previous = log(project, name)
            card = _card(project, m, name, vid, spec, message, training, card_extra,
                         parent=previous[0].id if previous else "")
            text = dump_card(card)  # before any DVC work: a card that cannot be written fails here
            return _publish(project, m, Version(name, vid, final, card), staging, text)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _ensure_versions_ignored(project: Project) -> None:
    """Projects made before the pattern was right, or without `init`, get it here."""
    path = project.root / ".gitignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if IGNORE_VERSIONS in lines:
        return
    lines = [line for line in lines if line.strip() != _IGNORE_VERSIONS_OLD]
    atomic_write(path, "\n".join([*lines, IGNORE_VERSIONS]) + "\n")


def _stage(source: Path, staging: Path, extra_files: Sequence[Path], base: manifest.BaseSection) -> None:
    """Copy the weights and extras; the config is rewritten canonically, naming the manifest's base."""
    staging.mkdir(parents=True)
    config = weights.read_config(source)
    config["base_model_name_or_path"] = base.model  # PEFT writes a machine-specific path
    config["revision"] = base.revision
    atomic_write(staging / weights.CONFIG, weights.config_text(config))
    copies = [(source / weights.WEIGHTS, staging / weights.WEIGHTS)]
    for extra in map(Path, extra_files):
        if extra.name in (weights.CONFIG, weights.WEIGHTS):
            raise UsageError(f"extra file {extra} would overwrite the adapter's own files")
        copies.append((extra, staging / extra.name))
    for src, dst in copies:
        shutil.copyfile(src, dst)
        with dst.open("rb") as f:  # on disk before the version can become visible
            os.fsync(f.fileno())


def _publish(project: Project, m: manifest.Manifest, version: Version, staging: Path, card_text: str) -> Version:
    pending = _pending_marker(project, version.name, version.id)
    atomic_write(pending, json.dumps({"name": version.name, "id": version.id}))
    visible = False
    try:
        if version.path.exists():  # a leftover without a card: content-addressed, so replace it
            shutil.rmtree(version.path)
        version.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, version.path)
        storage.track(project.root, [version.path])
        _test_hook("tracked")
        remote = storage.remote_name(project.root, m.project.remote)
        if remote:
            storage.push(project.root, [version.path], remote)
        _test_hook("pushed")
        atomic_write(version.card_path, card_text)
        visible = True
    finally:
        if not visible:
            storage.untrack(version.path)
        pending.unlink(missing_ok=True)
    return version


def _card(
    project: Project,
    m: manifest.Manifest,
    name: str,
    vid: str,
    spec: AdapterSpec,
    message: str,
    training: dict | None,
    card_extra: dict | None,
    *,
    parent: str,
) -> dict[str, Any]:
    from adapterctl import gitio

    cache = fingerprints.FileCache(project)
    try:
        card: dict[str, Any] = {
            "schema": CARD_SCHEMA,
            "name": name,
            "id": vid,
            "parent": parent,
            "created": environments.now(),
            "message": message,
            "git_commit": gitio.head_commit(project.root) or "",
            "spec_hash": manifest.spec_hash(spec, project.root),
            "template_sha256": template_sha256(project, spec),
            "seed": spec.train.seed,
            **(card_extra or {}),
            "base": fingerprints.base_fingerprint(project, m.base.model, m.base.revision, cache),
            "data": data_facts(project, spec, cache),
            "libraries": library_versions(),
            "training": training or {},
            "metrics": {},
            "spec": spec.to_dict(),
        }
    finally:
        cache.save()
    return _without_none(card)  # exactly what the TOML file will hold


def template_sha256(project: Project, spec: AdapterSpec) -> str:
    if not spec.template or not (project.root / spec.template).is_file():
        return ""
    return fingerprints.file_digest(project.root / spec.template, "sha256")


def data_facts(project: Project, spec: AdapterSpec, cache: fingerprints.FileCache) -> dict[str, dict[str, Any]]:
    """path, md5 (as DVC records it) and row count of each data file the spec names."""
    out: dict[str, dict[str, Any]] = {}
    for role, rel in (("train", spec.data), ("val", spec.val_data), ("eval", spec.eval_data)):
        if not rel:
            continue
        path = project.root / rel
        if path.is_file():
            facts: dict[str, Any] = {"path": rel, "md5": cache.digest(path, "md5")}
            rows = cache.rows(path)
            if rows is not None:
                facts["rows"] = rows
        else:  # tracked but not pulled here: DVC still knows its hash
            facts = {"path": rel, "md5": storage.md5(path) or ""}
        out[role] = facts
    return out


def library_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (importing them would load torch)."""
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = ""
    return out


def dump_card(card: dict[str, Any]) -> str:
    import tomli_w

    try:
        return tomli_w.dumps(card)
    except TypeError as exc:
        raise UsageError(f"version card: a value cannot be written as TOML ({exc})") from None


def _without_none(value: Any) -> Any:
    """As TOML can hold it: no nulls (TOML has none), paths as text, numpy/torch scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value if v is not None]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def record_metrics(
    project: Project, version: Version, metrics: dict[str, Any], *, gates: dict[str, Any] | None = None
) -> Version:
    """Write eval results into a version's card: `metrics` merged into [metrics], and `gates`
    as [gates] (`passed` bool, `failed` list of rules; `deploy` refuses passed = false unless
    forced). Only the card changes; the id covers the weights, which stay as they are."""
    with changing(project):
        card = read_card(version.card_path)
        card["metrics"] = {**card.get("metrics", {}), **metrics}
        if gates is not None:
            card["gates"] = gates
        card = _without_none(card)
        atomic_write(version.card_path, dump_card(card))
    return replace(version, card=card)


# ── recovery from interrupted registrations ───────────────────────────────────


def _pending_marker(project: Project, name: str, vid: str) -> Path:
    return project.state_dir / "pending" / f"{name}-{vid}.json"


def recover(project: Project) -> list[str]:
    """Remove what interrupted registrations left: staged copies, and version folders and
    .dvc files without a card. Call with the project lock held. Returns what was removed."""
    removed = []
    for marker in sorted((project.state_dir / "pending").glob("*.json")):
        try:
            info = json.loads(marker.read_text())
            folder = version_dir(project, info["name"], info["id"])
        except (ValueError, KeyError):
            marker.unlink(missing_ok=True)
            continue
        if not folder.with_name(f"{info['id']}.toml").exists():
            if folder.exists() or storage.dvc_file(folder).exists():
                removed.append(project.relpath(folder))
            storage.untrack(folder)
        marker.unlink(missing_ok=True)
    staging = project.state_dir / "staging"
    if staging.is_dir() and any(staging.iterdir()):
        removed.append(project.relpath(staging))
        shutil.rmtree(staging, ignore_errors=True)
    return removed


@contextlib.contextmanager
def changing(project: Project) -> Iterator[None]:
    """Hold the project lock for a state change, first sweeping what interrupted ones left."""
    with project.lock():
        recover(project)
        yield


def recover_if_idle(project: Project) -> None:
    """`recover`, from read-only commands, when leftovers exist and no other process is
    writing (a live registration holds the lock, and its files are not leftovers)."""
    state = project.state_dir
    if not any((state / "pending").glob("*.json")) and not any((state / "staging").glob("*")):
        return
    with project.try_lock() as free:
        if free:
            recover(project)


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """Turn SIGTERM (`kill PID`) into an exception so a registration cleans up after itself."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        raise Interrupted("terminated: the registration was abandoned and nothing was registered")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _test_hook(point: str) -> None:
    """For the interruption tests only: stop dead (os._exit) or hang at a named point."""
    wanted = os.environ.get(TEST_HOOK, "")
    if not wanted or wanted.split(":")[0] != point:
        return
    if wanted.endswith(":exit"):
        os._exit(86)
    sys.stderr.write(f"test hook: paused at {point}\n")
    sys.stderr.flush()
    time.sleep(3600)


# ── import ────────────────────────────────────────────────────────────────────


def import_folder(
    project: Project, name: str, folder: Path, *, message: str = "", any_base: bool = False
) -> Version:
    """Adopt an existing PEFT adapter folder (e.g. a plain PEFT/TRL script's output).

    Its base_model_name_or_path must name the manifest's base (unless `any_base`), and its
    tensors must fit the base's modules. The card's LoRA settings are the adapter's own, so
    `status` reports where they differ from the manifest.
    """
    folder = Path(folder).resolve()
    weights.check_folder(folder)
    m = manifest.load(project.manifest_path)
    spec = m.adapter(name)
    config = weights.read_config(folder)
    if config.get("peft_type", "LORA") != "LORA":
        raise UsageError(f"{folder}: a {config.get('peft_type')} adapter; adapterctl versions LoRA adapters")
    base_dir = fingerprints.locate_base(project, m.base.model, m.base.revision)
    declared = config.get("base_model_name_or_path") or ""
    if not any_base and not _same_base(project, declared, m.base.model, base_dir):
        raise UsageError(
            f"{folder / weights.CONFIG}: base_model_name_or_path is {declared!r}, but the manifest's base is "
            f"{m.base.model!r}; pass --any-base if it was trained on the same weights under another name"
        )
    if base_dir is None:
        ui.warn(f"base {m.base.model} is not available locally: tensor shapes were not checked against it")
    elif not (base_tensors := weights.base_tensors(base_dir)):
        ui.warn(f"base {m.base.model} has no safetensors weights: tensor shapes were not checked against it")
    else:
        problems = weights.shape_problems(weights.read_header(folder / weights.WEIGHTS), base_tensors)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UsageError(f"{folder}: does not fit base {m.base.model}: {problems[0]}{more}")
    return register(
        project, name, folder,
        spec=_spec_from_config(spec, config),
        message=message or f"import {folder.name}",
        training={"source": "import", "from": str(folder)},
    )


def _same_base(project: Project, declared: str, model: str, base_dir: Path | None) -> bool:
    """The declared base is the manifest's: the same name, or a folder holding the same weights."""
    if declared == model:
        return True
    if not declared or base_dir is None:
        return False
    cache = fingerprints.FileCache(project)
    try:
        ours = None
        for path in {Path(declared).expanduser().resolve(), (project.root / declared).resolve()}:
            if not path.is_dir():
                continue
            if path == base_dir.resolve():
                return True
            ours = ours or fingerprints.model_hashes(base_dir, cache)[0]
            if ours and fingerprints.model_hashes(path, cache)[0] == ours:
                return True
    finally:
        cache.save()
    return False


def _spec_from_config(spec: AdapterSpec, config: dict[str, Any]) -> AdapterSpec:
    """The manifest's spec with the LoRA settings the imported adapter actually has."""
    keys = {"r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "use_dora": "use_dora",
            "use_rslora": "use_rslora", "bias": "bias"}
    update = {ours: config[theirs] for theirs, ours in keys.items() if config.get(theirs) is not None}
    if "alpha" in update:
        update["alpha"] = float(update["alpha"])
    try:
        lora = type(spec.lora).model_validate({**spec.lora.model_dump(), **update})
    except ValidationError:  # values outside our schema: keep the manifest's
        return spec
    return replace(spec, lora=lora)
