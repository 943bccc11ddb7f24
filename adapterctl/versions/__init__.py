"""The version store: content-addressed adapter versions and their cards.

    card.py      the typed `Card` (schema_version), load/dump
    store.py     `Version`, log, resolve, check_weights
    lineage.py   what a new card records about its inputs
    register.py  the staging → publish transaction, record_metrics, recovery, the lock
    adopt.py     `import`: adopting an existing PEFT folder
    structure.py the structural check at the door (config vs tensors, every value finite)
    base_identity.py  a version put on a base: same base as its card records, structurally sound

This module is the package's public face: `versions.resolve(...)`, `versions.Version`.
"""

from __future__ import annotations

from adapterctl.faults import ENV_VAR as TEST_HOOK
from adapterctl.refs import short
from adapterctl.versions.adopt import import_folder
from adapterctl.versions.base_identity import BaseInUse, card_base, manifest_base
from adapterctl.versions.base_identity import mismatch as base_mismatch
from adapterctl.versions.card import SCHEMA_VERSION, Card, without_none
from adapterctl.versions.card import dump as dump_card
from adapterctl.versions.lineage import (
    LIBRARIES,
    data_facts,
    library_versions,
    store_training_data,
    template_sha256,
)
from adapterctl.versions.register import (
    IGNORE_VERSIONS,
    changing,
    record_metrics,
    recover,
    register,
)
from adapterctl.versions.store import (
    ID,
    Version,
    all_versions,
    check_weights,
    log,
    read_card,
    resolve,
    version_dir,
    weights_problem,
)

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
