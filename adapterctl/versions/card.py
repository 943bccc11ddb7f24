"""The version card, adapters/NAME/<id>.toml: a typed model, read and written here only.

Cards written before `schema_version` existed carry `schema = 1` and load as version 1.
Unknown keys are kept (a newer adapterctl's card survives a round trip through an older
one), and every table a later feature fills (metrics, gates, eval, sweep, combine) has a
typed place. Tables that were written as plain dicts before they were typed (`_Recorded`,
see records.py) keep their keys in the order they were given, so card text stays the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapterctl import tomlread
from adapterctl.errors import IntegrityError, MergeConflict, UsageError
from adapterctl.records import Record
from adapterctl.refs import short

SCHEMA_VERSION = 2  # 1: `schema = 1`, untyped; 2: `schema_version`, this model


class _Table(BaseModel):
    """A card table: typed where adapterctl reads it, open to keys it only records."""

    model_config = ConfigDict(extra="allow")

    def get(self, key: str, default: Any = None) -> Any:
        """A key that may be absent: declared fields and recorded extras alike."""
        return self.to_dict().get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The keys the file holds (or the code set), nothing defaulted."""
        return self.model_dump(exclude_none=True, exclude_unset=True)

    def to_json(self) -> dict[str, Any]:  # ui.to_jsonable's hook
        return self.to_dict()


class _Recorded(Record, _Table):
    """A card table that was a plain dict before it was typed: written in the order given."""


Number = int | float  # int first: a whole number stays an int in the file


class EvalEntry(_Recorded):
    """metrics.evals.KEY: one eval of this version under one key (evaluation/results.card_entry)."""

    eval_data: str = ""
    eval_md5: str = ""
    rows: int = 0
    limit: int = 0
    max_new_tokens: int | None = None
    created: str = ""
    seconds: Number | None = None
    results: str = ""  # project-relative path of the per-row results file
    metrics: dict[str, Number] = Field(default_factory=dict)
    baseline: str = ""  # project-relative path of the base model's results under the same key


class HumanEval(_Recorded):
    """metrics.human_eval: the summary of a rated sheet (evaluation/sheets.summarise)."""

    adapter: dict[str, dict[str, Number]] | None = None  # criterion → {mean, n}
    base: dict[str, dict[str, Number]] | None = None
    rows: int | None = None


class Metrics(_Recorded):
    """[metrics], filled by eval: scalar metrics by name (`rouge_l = 0.41`, or a table such as
    `[metrics.val] loss = 2.5`, kept as extra keys), each eval's entry, and human ratings."""

    evals: dict[str, EvalEntry] | None = None
    human_eval: HumanEval | None = None

    def scalars(self) -> dict[str, Any]:
        """The metric values and tables, without `evals` and `human_eval`."""
        return {k: v for k, v in self.to_dict().items() if k not in ("evals", "human_eval")}


class SweepInfo(_Recorded):
    """[sweep] on a sweep candidate: which sweep, which candidate, and how it ranked."""

    id: str = ""
    candidate: int = 0
    of: int = 0
    params: dict[str, Any] = Field(default_factory=dict)  # the grid values of this candidate
    rank: int | None = None  # 1 = best
    best: bool | None = None
    metric: str | None = None  # what ranked it: val_loss
    value: Number | None = None


class CombineInput(_Recorded):
    name: str = ""
    id: str = ""


class CombineInfo(_Recorded):
    """[combine] on a combination: its inputs, method, weights and density (merge/combine.py)."""

    inputs: list[CombineInput] = Field(default_factory=list)
    method: str = ""
    weights: list[Number] = Field(default_factory=list)
    density: Number | None = None


class EvalRecord(_Recorded):
    """[eval]: reserved for per-row scores, samples and settings; kept as written."""


class PromptRecord(_Recorded):
    """[prompt]: the format training and eval used (data/prompts.py's PromptFormat)."""

    kind: str = ""  # template | plain | chat
    source: str = ""  # the template's path, or "<default template>"
    text: str | None = None  # the template text (kind "template")
    chat_template: str | None = None  # kind "chat"; absent = the tokenizer's own


class SpecRecord(_Recorded):
    """[spec]: the resolved AdapterSpec.to_dict() the version was trained from, kept as written
    (older cards lack newer keys; manifest.spec_changes compares two of them)."""

    name: str = ""
    description: str = ""
    data: str | None = None
    eval_data: str | None = None
    val_data: str | None = None
    template: str | None = None
    lora: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    gates: dict[str, str] = Field(default_factory=dict)
    combine: dict[str, Any] | None = None


class BaseFacts(_Table):
    """The base model a version was trained on, fingerprinted (fingerprints.base_fingerprint)."""

    model: str = ""
    revision: str = ""
    hash: str = ""  # "" when it could not be hashed
    tokenizer_hash: str = ""
    hash_unknown: str = ""  # why hash is "": the base was not on the machine that wrote the card


class DataFile(_Table):
    path: str = ""
    md5: str = ""  # as DVC records it; "" when neither here nor tracked
    rows: int | None = None


class DataFacts(_Table):
    train: DataFile | None = None
    val: DataFile | None = None
    eval: DataFile | None = None

    def role(self, name: str) -> DataFile | None:
        return getattr(self, name, None)


class Training(_Table):
    """What produced the weights: the run summary for trained versions, `source` for imports."""

    source: str | None = None  # "import" for adopted folders
    any_base: bool | None = None  # imported with --any-base: its own config named another base
    run_id: str | None = None
    steps: int | None = None


class Gates(_Table):
    """Eval gate verdicts: `deploy` refuses passed = false unless forced."""

    passed: bool | None = None
    failed: list[str] = Field(default_factory=list)
    rules: dict[str, str] | None = None  # the gates as declared when checked: a change means re-eval
    checked: list[dict[str, Any]] = Field(default_factory=list)  # per rule: metric, rule, value, threshold, verdict


class DataCheck(_Table):
    """The `data check` that `train` ran first: counts per check, and whether --force overrode errors."""

    passed: bool | None = None
    errors: int = 0
    warnings: int = 0
    problems: dict[str, int] = Field(default_factory=dict)  # check → problems found
    forced: bool = False


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
    libraries: dict[str, str] = Field(default_factory=dict)
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
    files: dict[str, str] | None = None

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

    def human_eval(self) -> dict[str, Any]:
        """metrics.human_eval: the summary of an imported rating sheet, {} when none."""
        return self.metrics.human_eval.to_dict() if self.metrics.human_eval else {}

    def loss_history(self) -> list[dict[str, Any]]:
        """training.history: the per-step loss curve, [] for imports and old cards."""
        return self.training.get("history") or []

    def scalar_metrics(self) -> dict[str, Any]:
        """Scalar metrics, one level of nesting flattened (`val.loss`), for tables."""
        out: dict[str, Any] = {}
        for key, value in self.metrics.to_dict().items():
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
        body = self.model_dump(exclude_none=True, exclude_unset=True)
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
        return without_none(value.model_dump(exclude_none=True, exclude_unset=True))
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def from_dict(data: dict[str, Any], where: Path | str = "version card") -> Card:
    try:
        return Card.model_validate(without_none(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise IntegrityError(f"{where}: invalid version card: {key}: {err['msg']}") from None


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
