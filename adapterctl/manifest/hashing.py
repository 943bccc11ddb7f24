"""The spec hash: what shapes the trained weights, as canonical JSON, so `status` can tell stale."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from adapterctl.fingerprints import file_digest
from adapterctl.manifest.model import AdapterSpec


def spec_hash(spec: AdapterSpec, root: Path) -> str:
    """Hash of what shapes the trained weights: data paths, template text, lora and train.

    Canonical JSON, so formatting, comments and key order do not matter. Description,
    eval settings and gates are left out: changing how a version is judged does not
    change the version.
    """
    material = {
        "data": spec.data,
        "val_data": spec.val_data,
        "template": spec.template,
        "template_sha256": _file_sha256(root / spec.template) if spec.template else None,
        "lora": spec.lora.model_dump(),
        "train": _without_unset_additions(spec.train.model_dump()),
    }
    if spec.combine:  # only combinations carry the key: existing hashes stay as they were
        material["combine"] = spec.combine
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()


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
