"""The tables of a version card (card.py holds the card itself and the rules they follow;
training_record.py the [training] table).

`_Table`s were typed from the start and are written in field order; `_Recorded`s were plain
dicts before they were typed and keep their keys in the order read or given (records.py), so
re-saving a committed card moves no line. New fields of a `_Table` go at its end for the same
reason. Tables that mirror a manifest section (`[spec.lora]` ...) declare the same keys with
looser types: a card records what was, and must load after the manifest's rules change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from adapterctl.core.records import Record

Number = int | float  # int first: a whole number stays an int in the file
Scalar = bool | int | float | str  # a TOML scalar, as `--set`/`--grid` parse one
GridValue = Scalar | list[Scalar]


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


class _Exact(_Recorded):
    """A table typed after cards were committed: a value of the wrong type is refused rather
    than converted (`true` is not the integer 1, `8` is not the text "8"), so a card that loads
    is written back as it was."""

    model_config = ConfigDict(strict=True)


# ── eval results ──────────────────────────────────────────────────────────────


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
    metrics: dict[str, Number] = Field(default_factory=dict)  # metric name → value
    baseline: str = ""  # project-relative path of the base model's results under the same key


class CriterionScore(_Exact):
    """One criterion's ratings of one side in metrics.human_eval: their mean and how many."""

    mean: Number
    n: int


class HumanEval(_Recorded):
    """metrics.human_eval: the summary of a rated sheet (evaluation/sheets.summarise)."""

    rows: int | None = None
    sheet: str | None = None  # the sheet's file name
    version: str | None = None  # the version id the sheet was exported for
    eval_md5: str | None = None  # the eval set its rows came from
    adapter: dict[str, CriterionScore] | None = None  # criterion → the adapter's answers' scores
    base: dict[str, CriterionScore] | None = None  # criterion → the base model's answers' scores


class Metrics(_Recorded):
    """[metrics], filled by eval: scalar metrics by name (`rouge_l = 0.41`, or a table such as
    `[metrics.val] loss = 2.5`, kept as extra keys), each eval's entry, and human ratings."""

    evals: dict[str, EvalEntry] | None = None  # eval key → entry
    human_eval: HumanEval | None = None

    def scalars(self) -> dict[str, Any]:
        """The metric values and tables, without `evals` and `human_eval`."""
        return {k: v for k, v in self.to_dict().items() if k not in ("evals", "human_eval")}


class GateCheck(_Exact):
    """One `[[gates.checked]]` entry: a rule judged on a value (evaluation/gates.GateReport)."""

    metric: str
    rule: str = ""  # as declared: ">= base + 0.02"
    value: Number | None = None  # absent: the metric was not computed
    threshold: Number | None = None  # absent: the reference had no value
    reference: str = ""  # "absolute", or the reference's label
    verdict: str = ""  # pass | FAIL
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


class Gates(_Table):
    """Eval gate verdicts: `deploy` refuses passed = false unless forced."""

    passed: bool | None = None
    failed: list[str] = Field(default_factory=list)
    rules: dict[str, str] | None = None  # metric → rule, as declared when checked: a change means re-eval
    checked: list[GateCheck] = Field(default_factory=list)
    eval_key: str | None = None  # the metrics.evals entry the gates were judged on


class EvalRecord(_Recorded):
    """[eval]: reserved for per-row scores, samples and settings; kept as written."""


# ── sweeps and combinations ───────────────────────────────────────────────────


class SweepInfo(_Recorded):
    """[sweep] on a sweep candidate: which sweep, which candidate, and how it ranked."""

    id: str = ""
    candidate: int = 0
    of: int = 0
    params: dict[str, GridValue] = Field(default_factory=dict)  # grid key (train.learning_rate) → value
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


# ── the spec the version was trained from ─────────────────────────────────────


class LoraRecord(_Exact):
    """[spec.lora]: manifest.schema.LoraSpec's keys as recorded (Literal choices read as text)."""

    r: int | None = None
    alpha: Number | None = None
    dropout: Number | None = None
    target_modules: list[str] | str | None = None  # names, or "all-linear"
    bias: str | None = None
    use_dora: bool | None = None
    use_rslora: bool | None = None
    init_lora_weights: str | None = None
    modules_to_save: list[str] | None = None


class TrainRecord(_Exact):
    """[spec.train]: manifest.schema.TrainSpec's keys as recorded."""

    quantization: str | None = None
    double_quant: bool | None = None
    compute_dtype: str | None = None
    learning_rate: Number | None = None
    lr_scheduler: str | None = None
    warmup_ratio: Number | None = None
    weight_decay: Number | None = None
    epochs: Number | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    max_tokens_per_batch: int | None = None
    grad_accum: int | None = None
    max_length: int | None = None
    batching: str | None = None
    completion_only_loss: bool | None = None
    gradient_checkpointing: bool | None = None
    val_split: Number | None = None
    eval_steps: int | None = None
    checkpoint_steps: int | None = None
    early_stopping_patience: int | None = None
    seed: int | None = None
    save_dtype: str | None = None


class EvalSettings(_Exact):
    """[spec.eval]: manifest.schema.EvalSpec's keys as recorded."""

    metrics: list[str] | None = None
    max_new_tokens: int | None = None
    batch_size: int | None = None
    limit: int | None = None
    samples: int | None = None
    label_field: str | None = None


class CombineRecipe(_Exact):
    """[spec.combine] of a combination adapter (manifest.combine_recipe): names, not versions."""

    inputs: list[str] | None = None
    method: str | None = None
    weights: list[Number] | None = None
    density: Number | None = None


class SpecRecord(_Recorded):
    """[spec]: the resolved AdapterSpec.to_dict() the version was trained from, kept as written
    (older cards lack newer keys; manifest.spec_changes compares two of them)."""

    name: str = ""
    description: str = ""
    data: str | None = None
    eval_data: str | None = None
    val_data: str | None = None
    template: str | None = None
    lora: LoraRecord = Field(default_factory=LoraRecord)
    train: TrainRecord = Field(default_factory=TrainRecord)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    gates: dict[str, str] = Field(default_factory=dict)  # metric → rule
    combine: CombineRecipe | None = None


class PromptRecord(_Recorded):
    """[prompt]: the format training and eval used (data/prompts.py's PromptFormat)."""

    kind: str = ""  # template | plain | chat
    source: str = ""  # the template's path, or "<default template>"
    text: str | None = None  # the template text (kind "template")
    chat_template: str | None = None  # kind "chat"; absent = the tokenizer's own


# ── what it was made from ─────────────────────────────────────────────────────


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


class Libraries(_Exact):
    """[libraries]: installed versions of the stack (versions/lineage.library_versions), "" when
    not installed. Keys this adapterctl does not record are kept, and must be text too."""

    __pydantic_extra__: dict[str, str] = Field(init=False)

    torch: str | None = None
    transformers: str | None = None
    peft: str | None = None
    trl: str | None = None
    bitsandbytes: str | None = None
    accelerate: str | None = None
    datasets: str | None = None


class DataCheck(_Table):
    """The `data check` that `train` ran first: counts per check, and whether --force overrode errors."""

    passed: bool | None = None
    errors: int = 0
    warnings: int = 0
    problems: dict[str, int] = Field(default_factory=dict)  # check → problems found
    forced: bool = False


class FileDigests(RootModel[dict[str, str]]):
    """[files]: sha256 of every file in the version folder, by POSIX path relative to it
    ("symlink" for a link, which never matches), in the order registration listed them."""

    model_config = ConfigDict(strict=True)

    def names(self) -> list[str]:
        return list(self.root)

    def digest(self, name: str) -> str | None:
        return self.root.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.root

    def __len__(self) -> int:
        return len(self.root)

    def to_json(self) -> dict[str, str]:  # ui.to_jsonable's hook
        return dict(self.root)
