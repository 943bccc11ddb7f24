"""`--set TABLE.KEY=VALUE`: overrides of the lora, train and eval tables for one run."""

from __future__ import annotations

from typing import Any

from adapterctl.core.errors import ManifestError
from adapterctl.core.tomlread import tomllib
from adapterctl.manifest.keypaths import _did_you_mean
from adapterctl.manifest.schema import OVERRIDABLE


def parse_overrides(assignments: list[str]) -> dict[str, dict[str, Any]]:
    """`--set train.learning_rate=1e-4` → {"train": {"learning_rate": 1e-4}}; values are TOML."""
    result: dict[str, dict[str, Any]] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        table, dot, leaf = key.strip().partition(".")
        if not sep or not dot or not leaf:
            raise ManifestError(f"--set {item!r}: write TABLE.KEY=VALUE, e.g. train.learning_rate=1e-4")
        if table not in OVERRIDABLE:
            raise ManifestError(f"--set {key}: unknown table {table!r}{_did_you_mean(table, OVERRIDABLE)}")
        if leaf not in OVERRIDABLE[table].model_fields:
            raise ManifestError(f"--set {key}: unknown key{_did_you_mean(leaf, OVERRIDABLE[table].model_fields)}")
        result.setdefault(table, {})[leaf] = parse_value(value.strip())
    return result


def parse_value(text: str) -> Any:
    """A TOML value (`1e-4`, `true`, `["q_proj"]`), or the text itself as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
