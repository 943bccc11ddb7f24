"""What the api functions return: typed results, one per command, shaped for the CLI and --json.

A result with a `to_json` method chooses its own JSON shape (ui.to_jsonable uses it), so a
typed view can keep the flat JSON that scripts already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Types defined by the modules that produce them, re-exported here on first use: the read-only
# views import this module, and must not load the state-changing ops behind these names.
_ELSEWHERE = {
    "MoveResult": "adapterctl.ops.deploy",
    "GcEntry": "adapterctl.ops.gc",
    "GcResult": "adapterctl.ops.gc",
    "InitResult": "adapterctl.ops.scaffold",
    "TransferResult": "adapterctl.ops.transfer",
    "AdapterSync": "adapterctl.serve.vllm",
    "SyncReport": "adapterctl.serve.vllm",
    "AdapterStatus": "adapterctl.status",
    "SweepResult": "adapterctl.train.results",
    "TrainResult": "adapterctl.train.results",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *_ELSEWHERE,
    "AdapterSummary",
    "SpecView",
    "ValidationReport",
    "LogEntry",
    "VersionView",
    "EnvironmentEntry",
    "ResolvedVersion",
    "ImportResult",
    "GenerateResult",
]


@dataclass
class AdapterSummary:
    name: str
    description: str
    data: str
    eval_data: str | None
    template: str | None
    spec_hash: str


@dataclass
class SpecView:
    """An adapter's resolved spec, the base, its hash and the id of its latest version."""

    spec: dict[str, Any]  # AdapterSpec.to_dict(): name, data, ..., lora, train, eval, gates
    base: dict[str, Any]
    spec_hash: str
    latest: str | None  # None before the first version

    def to_json(self) -> dict[str, Any]:
        return {**self.spec, "base": self.base, "spec_hash": self.spec_hash, "latest": self.latest}


@dataclass
class ValidationReport:
    manifest: str
    adapters: list[str]
    warnings: list[str]


@dataclass
class LogEntry:
    name: str
    id: str
    short: str
    created: str
    message: str
    parent: str  # full id, "" for the first version
    metrics: dict[str, Any]  # the card's scalar metrics (filled by eval)
    environments: list[str]  # environments serving this version
    path: str


@dataclass
class VersionView:
    """A version's card, plus where it is and which environments serve it."""

    ref: str  # NAME@<short id>
    card: dict[str, Any]  # as the card file holds it
    path: Path
    local: bool
    environments: list[str]

    def to_json(self) -> dict[str, Any]:
        return {**self.card, "path": str(self.path), "local": self.local, "environments": self.environments}


@dataclass
class EnvironmentEntry:
    env: str
    name: str
    version: str
    short: str
    deployed: str  # when the pointer last moved
    moves: list[dict[str, Any]]  # oldest first: at, action, from, to, forced, message


@dataclass
class ResolvedVersion:
    ref: str
    name: str
    id: str
    path: Path


@dataclass
class ImportResult:
    ref: str
    name: str
    id: str
    path: Path
    card: Path
    new: bool  # False when this content was already a version


@dataclass
class GenerateResult:
    """One answer from `adapterctl generate`."""

    ref: str
    version: str  # full id
    prompt: str
    text: str
    finish_reason: str  # stop | length
    usage: dict[str, int]  # prompt_tokens, completion_tokens, total_tokens
