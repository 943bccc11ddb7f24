"""The version store: content-addressed adapter versions and their cards.

    card.py      the typed `Card` (schema_version), load/dump
    store.py     `Version`, log, resolve, check_weights
    lineage.py   what a new card records about its inputs
    register.py  the staging → publish transaction, record_metrics, recovery, the lock
    adopt.py     `import`: adopting an existing PEFT folder
    structure.py the structural check at the door (config vs tensors, every value finite)
    base_identity.py  a version put on a base: same base as its card records, structurally sound
    tables.py    the card's typed tables
    registry.py  cards and environment pointers, read once per command

This module is the package's public face: `versions.resolve(...)`, `versions.Version`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

# name: (module, its name there). Loaded on first use, so a read such as `adapterctl log`
# imports store and card but never register (the publish transaction) or adopt.
_EXPORTS = {
    "TEST_HOOK": ("adapterctl.core.faults", "ENV_VAR"),
    "short": ("adapterctl.core.refs", "short"),
    "BaseInUse": ("adapterctl.versions.base_identity", "BaseInUse"),
    "card_base": ("adapterctl.versions.base_identity", "card_base"),
    "manifest_base": ("adapterctl.versions.base_identity", "manifest_base"),
    "base_mismatch": ("adapterctl.versions.base_identity", "mismatch"),
    "import_folder": ("adapterctl.versions.adopt", "import_folder"),
    "SCHEMA_VERSION": ("adapterctl.versions.card", "SCHEMA_VERSION"),
    "Card": ("adapterctl.versions.card", "Card"),
    "without_none": ("adapterctl.versions.card", "without_none"),
    "dump_card": ("adapterctl.versions.card", "dump"),
    **{
        name: ("adapterctl.versions.lineage", name)
        for name in ("LIBRARIES", "data_facts", "library_versions", "store_training_data", "template_sha256")
    },
    **{
        name: ("adapterctl.versions.register", name)
        for name in ("IGNORE_VERSIONS", "changing", "record_metrics", "recover", "register")
    },
    **{
        name: ("adapterctl.versions.store", name)
        for name in (
            "ID",
            "Version",
            "all_versions",
            "check_weights",
            "log",
            "read_card",
            "resolve",
            "version_dir",
            "weights_problem",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later look-ups skip this function
    return value


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the submodule `register` sets the package's `register` to that module;
        # `versions.register` stays the function, as when it was imported eagerly.
        if name == "register" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "ID",
    "BaseInUse",
    "IGNORE_VERSIONS",
    "LIBRARIES",
    "SCHEMA_VERSION",
    "TEST_HOOK",
    "Card",
    "Version",
    "all_versions",
    "base_mismatch",
    "card_base",
    "changing",
    "check_weights",
    "data_facts",
    "dump_card",
    "import_folder",
    "library_versions",
    "log",
    "manifest_base",
    "read_card",
    "record_metrics",
    "recover",
    "register",
    "resolve",
    "short",
    "store_training_data",
    "template_sha256",
    "version_dir",
    "weights_problem",
    "without_none",
]
