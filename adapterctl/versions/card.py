"""The version card, adapters/NAME/<id>.toml: a typed model, read and written here only.

Cards written before `schema_version` existed carry `schema = 1` and load as version 1.
Unknown keys are kept (a newer adapterctl's card survives a round trip through an older
one), and every table a later feature fills (metrics, gates, eval, sweep, combine) has a
typed place (tables.py). Tables that were written as plain dicts before they were typed
(`_Recorded`, see records.py) keep their keys in the order they were given, so card text
stays the same: loading and re-saving a committed card changes no byte.

The typing rule: a table whose keys adapterctl chooses is a model with one field per key.
A map keyed by names the user chooses (metric name, gate metric, grid key, criterion, file
path) may stay a `dict[str, X]`, where X is a number, text or another model, never `Any`.
A table whose keys the code does not know (metrics by name, [eval]) keeps them as extras.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapterctl.core import tomlread
from adapterctl.core.errors import IntegrityError, MergeConflict, UsageError
from adapterctl.core.refs import short
from adapterctl.versions.tables import (
    BaseFacts,
    CombineInfo,
    CombineInput,
    CombineRecipe,
    CriterionScore,
    DataCheck,
    DataFacts,
    DataFile,
    EvalEntry,
    EvalRecord,
    EvalSettings,
    FileDigests,
    GateCheck,
    Gates,
    HumanEval,
    Libraries,
    LoraRecord,
    Metrics,
    Number,
    PromptRecord,
    SpecRecord,
    SweepInfo,
    TrainRecord,
)
from adapterctl.versions.training_record import (
    Attention,
    BaseLoad,
    Batching,
    LauncherRecord,
    LossPoint,
    Memory,
    PeakMemory,
    Quantization,
    RunData,
    TokenBatchStats,
    Training,
    ValLoss,
)

__all__ = [
    "SCHEMA_VERSION",
    "Attention",
    "BaseFacts",
    "BaseLoad",
    "Batching",
    "Card",
    "CombineInfo",
    "CombineInput",
    "CombineRecipe",
    "CriterionScore",
    "DataCheck",
    "DataFacts",
    "DataFile",
    "EvalEntry",
    "EvalRecord",
    "EvalSettings",
    "FileDigests",
    "GateCheck",
    "Gates",
    "HumanEval",
    "LauncherRecord",
    "Libraries",
    "LoraRecord",
    "LossPoint",
    "Memory",
    "Metrics",
    "Number",
    "PeakMemory",
    "PromptRecord",
    "Quantization",
    "RunData",
    "SpecRecord",
    "SweepInfo",
    "TokenBatchStats",
    "TrainRecord",
    "Training",
    "ValLoss",
    "dump",
    "from_dict",
    "load",
    "training_record",
    "without_none",
]

SCHEMA_VERSION = 2  # 1: `schema = 1`, untyped; 2: `schema_version`, this model


class Card(BaseModel):
    """Lineage, hashes of every input, and eval results of one version."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_version: int = SCHEMA_VERSION
    name: str
    id: str
    parent: str = ""
    created: str = ""
    message: str = ""
    git_commit: str = ""
    spec_hash: str = ""
    template_sha256: str = ""
    seed: int | None = None
    base: BaseFacts = Field(default_factory=BaseFacts)
    data: DataFacts = Field(default_factory=DataFacts)
    libraries: Libraries = Field(default_factory=Libraries)
    training: Training = Field(default_factory=Training)
    metrics: Metrics = Field(default_factory=Metrics)  # filled by eval
    gates: Gates | None = None  # filled by eval
    eval: EvalRecord | None = None  # reserved for eval: per-row scores, samples, settings
    sweep: SweepInfo | None = None  # set on sweep candidates
    parents: list[str] | None = None  # set on combinations: every input version, NAME@<id>
    combine: CombineInfo | None = None  # set on combinations
    data_check: DataCheck | None = None  # set by train: the data check's summary and any override
    spec: SpecRecord = Field(default_factory=SpecRecord)  # the resolved AdapterSpec.to_dict()
    # The prompt format training and eval used (data/prompts.py): kind, source, template text
    # or chat template. Cards from before it lack the table: the template at git_commit is used.
    prompt: PromptRecord | None = None
    # sha256 of every file in the version folder, by relative path, written at registration;
    # cards from before it lack the table and are verified by the id alone.
    files: FileDigests | None = None

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema" in data and "schema_version" not in data:
            data = {k: v for k, v in data.items() if k != "schema"} | {"schema_version": data["schema"]}
        return data

    @property
    def short(self) -> str:
        return short(self.id)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.short}"

    def evals(self) -> dict[str, EvalEntry]:
        """metrics.evals: eval key → entry (results file, baseline, created), entries with results only."""
        return {k: v for k, v in (self.metrics.evals or {}).items() if v.results}

    def human_eval(self) -> HumanEval | None:
        """metrics.human_eval: the summary of an imported rating sheet, None when none."""
        return self.metrics.human_eval

    def loss_history(self) -> list[dict[str, Any]]:
        """training.history as plain points ({step, loss?, val_loss?}), [] for imports and old cards."""
        return [point.to_dict() for point in self.training.history or []]

    def scalar_metrics(self) -> dict[str, Any]:
        """Scalar metrics, one level of nesting flattened (`val.loss`), for tables."""
        out: dict[str, Any] = {}
        for key, value in self.metrics.scalars().items():  # not evals or human_eval (rows is no metric)
            if isinstance(value, dict):
                out.update({f"{key}.{k}": v for k, v in value.items() if _is_number(v)})
            elif _is_number(value):
                out[key] = value
        return out

    def extra(self, key: str, default: Any = None) -> Any:
        """A top-level key this model does not declare (e.g. `run_id` from card_extra)."""
        return (self.model_extra or {}).get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """As the TOML file holds it: the keys it was read or built with, no nulls, schema first."""
        body = self.model_dump(exclude_none=True, exclude_unset=True, by_alias=True)
        data: dict[str, Any] = without_none({"schema_version": self.schema_version, **body})
        return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def without_none(value: Any) -> Any:
    """As TOML can hold it: no nulls (TOML has none), paths as text, numpy/torch scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [without_none(v) for v in value if v is not None]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        return without_none(value.model_dump(exclude_none=True, exclude_unset=True, by_alias=True))
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def training_record(data: dict[str, Any], where: Path | str) -> Training:
    """A run's training record (the run's summary.json), checked as a card's [training] is."""
    try:
        return Training.model_validate(data)
    except ValidationError as exc:
        raise IntegrityError(f"{where}: invalid training record: {_first_problem(exc, data)}") from None


def from_dict(data: dict[str, Any], where: Path | str = "version card") -> Card:
    clean = without_none(data)
    try:
        return Card.model_validate(clean)
    except ValidationError as exc:
        raise IntegrityError(f"{where}: invalid version card: {_first_problem(exc, clean)}") from None


# What a value failed to be, by pydantic's error type: one union's alternatives become one phrase.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
}


def _first_problem(exc: ValidationError, data: Any) -> str:
    """`key.path: what is wrong`, the key as the file spells it: a union's member tags
    (`threshold.int`, `threshold.float`) are not keys, and its alternatives are said once."""
    errors = exc.errors()

    def key_of(error: Any) -> str:
        keys, node = [], data
        for i, part in enumerate(error["loc"]):
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if in_list or isinstance(node, dict) and part in node:
                keys.append(str(part))
                node = node[part]
            elif error["type"] == "missing" and i == len(error["loc"]) - 1:
                keys.append(str(part))  # a required key the table lacks
            # else: a union member's tag (`int`, `list[str]`), not a key of the file
        return ".".join(keys) or "(top level)"

    key = key_of(errors[0])
    alike = [e for e in errors if key_of(e) == key]
    expected = list(dict.fromkeys(_EXPECTED.get(e["type"], "") for e in alike))
    if "a number" in expected and "an integer" in expected:  # Number = int | float
        expected.remove("an integer")
    if len(alike) > 1 and "" not in expected:
        return f"{key}: expected {' or '.join(expected)}, not {alike[0]['input']!r}"[:300]
    return f"{key}: {errors[0]['msg']}"


def load(path: Path) -> Card:
    """Parse and check a card; its id must match its file name."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomlread.loads(text)
    except tomlread.TOMLDecodeError as exc:
        if tomlread.has_conflict_markers(text):
            raise MergeConflict(
                f"{path}: unresolved git merge conflict in a version card; resolve it, then `git add` it"
            ) from None
        raise IntegrityError(f"{path}: invalid version card: {exc}") from None
    if data.get("id") != path.stem:
        raise IntegrityError(f"{path}: the card's id {data.get('id')!r} does not match its file name")
    return from_dict(data, path)


def dump(card: Card | dict[str, Any]) -> str:
    import tomli_w

    data = card.to_dict() if isinstance(card, Card) else without_none(card)
    try:
        return tomli_w.dumps(data)
    except TypeError as exc:
        raise UsageError(f"version card: a value cannot be written as TOML ({exc})") from None
