"""The manifest `adapterctl.toml`: typed schema, validation with key paths, resolution.

Every key is a documented pydantic field; `docs/manifest.md` is generated from these
models. Validation errors name the file, the line where it can be found, and the full key
path (`adapters.support.train.learning_rate`), with a did-you-mean for unknown keys.

The package's parts: schema.py (the tables), model.py (Manifest, AdapterSpec and how a spec
resolves), loading.py (load, from_dict and the checks across tables), keypaths.py (errors
that name a file, line and key), checks.py (files on disk), hashing.py (spec_hash and spec_changes: what changed in a spec) and
overrides.py (--set), rules.py (cross-field rules). Import from `adapterctl.manifest`, which re-exports them all.
"""

from __future__ import annotations

from adapterctl.manifest.checks import check_files, check_local_base, looks_local
from adapterctl.manifest.hashing import (
    ADDED_TRAIN_KEYS,
    SpecChange,
    canonical_json,
    spec_changes,
    spec_hash,
    weight_material,
)
from adapterctl.manifest.loading import check_adapter_name, from_dict, load
from adapterctl.manifest.model import DENSITY_METHODS, AdapterSpec, CombineSpec, Manifest, combine_recipe
from adapterctl.manifest.overrides import parse_overrides, parse_value
from adapterctl.manifest.schema import (
    ADAPTER_NAME,
    EVAL_METRICS,
    GATE,
    MAX_BATCH,
    MAX_COUNT,
    MAX_SEED,
    MIN_LENGTH,
    OVERRIDABLE,
    TOP_LEVEL,
    AdapterSection,
    BaseSection,
    DataCheckSpec,
    Defaults,
    EnvironmentSection,
    EvalSpec,
    LoraSpec,
    ProjectSection,
    Section,
    TrainSpec,
)

__all__ = [
    "ADAPTER_NAME",
    "ADDED_TRAIN_KEYS",
    "DENSITY_METHODS",
    "EVAL_METRICS",
    "GATE",
    "MAX_BATCH",
    "MAX_COUNT",
    "MAX_SEED",
    "MIN_LENGTH",
    "OVERRIDABLE",
    "TOP_LEVEL",
    "AdapterSection",
    "AdapterSpec",
    "BaseSection",
    "CombineSpec",
    "DataCheckSpec",
    "Defaults",
    "EnvironmentSection",
    "EvalSpec",
    "LoraSpec",
    "Manifest",
    "ProjectSection",
    "Section",
    "SpecChange",
    "TrainSpec",
    "canonical_json",
    "check_adapter_name",
    "check_files",
    "check_local_base",
    "combine_recipe",
    "from_dict",
    "load",
    "looks_local",
    "parse_overrides",
    "parse_value",
    "spec_changes",
    "spec_hash",
    "weight_material",
]
