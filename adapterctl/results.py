"""What the api functions return: typed results, one per command, shaped for the CLI and --json.

A result with a `to_json` method chooses its own JSON shape (ui.to_jsonable uses it), so a
typed view can keep the flat JSON that scripts already read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.ops.deploy import MoveResult
from adapterctl.ops.gc import GcEntry, GcResult
from adapterctl.ops.scaffold import InitResult
from adapterctl.ops.transfer import TransferResult
from adapterctl.serve.vllm import AdapterSync, SyncReport
from adapterctl.status import AdapterStatus
from adapterctl.train.results import SweepResult, TrainResult

__all__ = [
    "AdapterStatus",
    "GcEntry",
    "GcResult",
    "InitResult",
    "MoveResult",
    "SweepResult",
    "TrainResult",
    "TransferResult",
    "AdapterSummary",
    "SpecView",
    "ValidationReport",
    "LogEntry",
    "VersionView",
    "EnvironmentEntry",
    "ResolvedVersion",
    "ImportResult",
    "GenerateResult",
    "SyncReport",
    "AdapterSync",
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
    errors: list[str] = field(default_factory=list)  # every problem, "file:line: key: message"

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "valid": self.valid,
            "adapters": self.adapters,
            "warnings": self.warnings,
            "errors": [split_problem(e) for e in self.errors],
        }


_PROBLEM = re.compile(r"^(?P<file>[^:\s]+)(?::(?P<line>\d+))?: (?P<key>[^\s:]+): (?P<message>.*)$", re.S)


def split_problem(text: str) -> dict[str, Any]:
    """{file, line, key, message} of one "file:line: key: message" problem line (line None when unknown)."""
    m = _PROBLEM.match(text)
    if not m:
        return {"file": None, "line": None, "key": None, "message": text}
    return {**m.groupdict(), "line": int(m["line"]) if m["line"] else None}


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
