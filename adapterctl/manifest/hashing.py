"""What changed in a spec, defined once: the part of a resolved spec that shapes the weights
(`weight_material`), its hash (`spec_hash`, so `status` can tell stale) and the key-by-key
changes between two specs (`spec_changes`, for `status` and `diff`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.manifest.model import AdapterSpec
from adapterctl.store.fingerprints import file_digest

WEIGHT_KEYS = ("data", "val_data", "template", "lora", "train", "combine")


def weight_material(spec: dict[str, Any]) -> dict[str, Any]:
    """What shapes the trained weights, from a resolved spec as a dict (`AdapterSpec.to_dict()`
    or a card's [spec]): data paths, template path, lora and train, and a combination's recipe.

    Description, eval settings, gates and data checks are left out: changing how a version is
    judged does not change the version.
    """
    material = {
        "data": spec.get("data"),
        "val_data": spec.get("val_data"),
        "template": spec.get("template"),
        "lora": dict(spec.get("lora") or {}),
        "train": _without_unset_additions(dict(spec.get("train") or {})),
    }
    if spec.get("combine"):  # only combinations carry the key: existing hashes stay as they were
        material["combine"] = spec["combine"]
    return material


def spec_hash(spec: AdapterSpec, root: Path) -> str:
    """Hash of `weight_material` and the template's text, as canonical JSON, so formatting,
    comments and key order do not matter."""
    material = weight_material(spec.to_dict())
    material["template_sha256"] = _file_sha256(root / spec.template) if spec.template else None
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()


@dataclass(frozen=True)
class SpecChange:
    key: str  # dotted: "train.learning_rate"
    old: Any  # None when the key is new
    new: Any  # None when the key is gone


def spec_changes(old: dict[str, Any], new: dict[str, Any], *, weights_only: bool = False) -> list[SpecChange]:
    """Every leaf that differs between two resolved specs (as dicts), top-level keys first.
    `weights_only` compares `weight_material` only: what `status` calls stale."""
    if weights_only:
        old, new = weight_material(old), weight_material(new)
    flat_old, flat_new = flatten(old), flatten(new)
    keys = sorted(set(flat_old) | set(flat_new), key=lambda k: (k.count("."), k))
    return [SpecChange(k, flat_old.get(k), flat_new.get(k)) for k in keys if flat_old.get(k) != flat_new.get(k)]


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# Train keys added after versions were first recorded: left out of the spec hash while unset,
# so adding them does not make every existing version stale.
ADDED_TRAIN_KEYS = ("max_tokens_per_batch",)


def _without_unset_additions(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if not (k in ADDED_TRAIN_KEYS and v is None)}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _file_sha256(path: Path) -> str | None:
    try:
        return file_digest(path, "sha256")
    except FileNotFoundError:
        return None
