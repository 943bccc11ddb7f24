"""The manifest schema: one pydantic model per table of `adapterctl.toml`.

Every key is a documented field; `docs/manifest.md` is generated from these models
(`python -m adapterctl.cli.docgen`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
# "OP NUMBER" (absolute) or "OP REF [+|- NUMBER]" (relative): REF is `base` or an environment.
GATE = re.compile(
    rf"^\s*(?P<op>>=|<=|>|<)\s*(?:(?P<number>-?{_NUMBER})|(?P<ref>[A-Za-z][A-Za-z0-9_-]*)"
    rf"(?:\s*(?P<sign>[-+])\s*(?P<offset>{_NUMBER}))?)\s*$"
)
EVAL_METRICS = Literal[
    "rouge1",
    "rouge2",
    "rouge_l",
    "bleu",
    "chrf",
    "exact_match",
    "accuracy",
    "macro_f1",
    "eval_loss",
    "perplexity",
    "val_loss",
]
# Bounds that keep values inside what the libraries accept, so `validate` catches them:
# numpy seeds are < 2**32; itertools.islice and torch sizes need a C ssize_t; a row needs
# room for a prompt token and an answer token.
MAX_SEED = 2**32 - 1
MAX_COUNT = 2**31 - 1
# No base reads more than this in one go today: a larger eval budget is a typo, not a plan.
MAX_NEW_TOKENS = 131_072
MAX_BATCH = 2**20
MIN_LENGTH = 2


class Section(BaseModel):
    # strict: "2e-4" is a string, not a number; extra keys are typos until proven otherwise.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ProjectSection(Section):
    name: str = Field("adapters", description="Project name, shown in reports.")
    remote: str | None = Field(
        None,
        description="Name of the DVC remote that push/pull use; unset means DVC's default remote.",
    )


class BaseSection(Section):
    model: str = Field(
        description="The base model: a Hugging Face hub id (pin `revision`) or a local folder, "
        "relative to the project root."
    )
    revision: str | None = Field(
        None, description="Hub revision (a commit sha is best) for a hub model; ignored for folders."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weight dtype when loading the base unquantised; auto picks per device."
    )
    trust_remote_code: bool = Field(
        False, description="Allow the base repo's own Python code to run. Off unless you trust it."
    )


class LoraSpec(Section):
    r: int = Field(16, gt=0, le=4096, description="LoRA rank: capacity of the adapter (8-64 typical).")
    alpha: float = Field(32, gt=0, description="Scaling numerator; the update is scaled by alpha/r.")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA input; raise it if overfitting.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description='Module names to adapt, or "all-linear" for every linear layer but the head.'
    )
    bias: Literal["none", "all", "lora_only"] = Field("none", description="Which biases to train.")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")
    use_rslora: bool = Field(False, description="Rank-stabilised scaling alpha/sqrt(r).")
    init_lora_weights: Literal["default", "gaussian", "pissa", "olora", "loftq"] = Field(
        "default",
        description='How the adapter matrices start. pissa needs train.quantization = "none"; '
        "loftq needs nf4 or fp4 and a local safetensors base.",
    )
    modules_to_save: list[str] = Field(
        default_factory=list, description="Extra modules trained fully and saved with the adapter."
    )


class TrainSpec(Section):
    quantization: Literal["nf4", "fp4", "int8", "none"] = Field(
        "nf4", description="Base weights quantisation while training (QLoRA for nf4/fp4)."
    )
    double_quant: bool = Field(True, description="Quantise the 4-bit quantisation constants too.")
    compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Dtype of the matmuls on quantised weights; auto: bf16 on GPU, fp32 on CPU."
    )
    learning_rate: float = Field(2e-4, gt=0, lt=1, description="Peak learning rate.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "cosine", description="Learning-rate schedule after warmup."
    )
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Fraction of steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    epochs: float = Field(
        3, gt=0, le=MAX_COUNT, description="Passes over the training data (ignored when max_steps is set)."
    )
    max_steps: int | None = Field(None, gt=0, le=MAX_COUNT, description="Stop after this many optimiser steps.")
    batch_size: int = Field(8, gt=0, le=MAX_BATCH, description="Rows per device per step.")
    max_tokens_per_batch: int | None = Field(
        None,
        gt=0,
        le=MAX_COUNT,
        description="Batch by tokens instead of rows: each step holds rows up to this many tokens "
        "(in seeded random order). Unset: batch_size rows on a CPU; on a GPU chosen from free memory (with a "
        "notice in the card) unless batch_size was changed from its default.",
    )
    grad_accum: int = Field(
        1, gt=0, le=MAX_BATCH, description="Steps accumulated per update: effective batch = batch_size x grad_accum."
    )
    max_length: int = Field(512, ge=MIN_LENGTH, le=MAX_COUNT, description="Tokens per row; longer rows are truncated.")
    batching: Literal["padding_free", "packed", "padded"] = Field(
        "padding_free", description="How rows share a batch: without pad tokens, packed, or padded."
    )
    completion_only_loss: bool = Field(True, description="Mask prompt tokens: learn the answers only.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for activation memory.")
    val_split: float = Field(
        0.1, ge=0, lt=1, description="Fraction of data held out for val loss when no val_data is given."
    )
    eval_steps: int = Field(10, gt=0, le=MAX_COUNT, description="Compute val loss every this many steps.")
    checkpoint_steps: int | None = Field(
        None,
        gt=0,
        le=MAX_COUNT,
        description="Save a checkpoint for `train --resume` every this many steps; default: every "
        "eval_steps. With early stopping it must be a multiple of eval_steps.",
    )
    early_stopping_patience: int = Field(
        0,
        ge=0,
        le=MAX_COUNT,
        description="Stop after this many evals without val-loss improvement; 0 is off. "
        "Needs a validation set: val_split > 0 or the adapter's val_data.",
    )
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Seed for data order, split and adapter init.")
    save_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Dtype of the saved adapter weights; 16-bit halves storage."
    )


DEFAULT_EVAL_METRICS: tuple[EVAL_METRICS, ...] = (
    "rouge_l",
    "rouge1",
    "rouge2",
    "bleu",
    "chrf",
    "exact_match",
    "accuracy",
    "macro_f1",
    "eval_loss",
    "perplexity",
)


class EvalSpec(Section):
    metrics: list[EVAL_METRICS] = Field(
        default_factory=lambda: list(DEFAULT_EVAL_METRICS),
        description="Metrics computed by eval: ROUGE (0-1), BLEU/chrF (sacrebleu, 0-100), exact_match; "
        "accuracy and macro_f1 when rows carry the label field; eval_loss/perplexity over completion tokens; "
        "val_loss as training recorded it.",
    )
    max_new_tokens: int = Field(
        128,
        gt=0,
        le=MAX_NEW_TOKENS,
        description="Generation budget per eval row; eval also refuses a budget at or over the base model's "
        "context length.",
    )
    batch_size: int = Field(16, gt=0, le=MAX_BATCH, description="Rows generated at once.")
    limit: int | None = Field(None, gt=0, le=MAX_COUNT, description="Evaluate on the first N rows only.")
    samples: int = Field(
        5, ge=0, le=MAX_COUNT, description="Rows shown side by side (most improved, most regressed) by diff and report."
    )
    label_field: str = Field("label", description="Row field holding a class label, for accuracy and macro_f1.")


Severity = Literal["error", "warning", "off"]


class DataCheckSpec(Section):
    """Severities and thresholds of `adapterctl data check` (and of the check `train` runs first).

    Each check key takes "error" (train refuses the data unless --force; `data check` exits 1),
    "warning" (reported only) or "off" (not run).
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    # `schema` would shadow pydantic's BaseModel.schema, so the attribute is schema_.
    schema_: Severity = Field(
        "error",
        alias="schema",
        description="Rows that are not UTF-8 or JSON objects, lack "
        "a field the template needs, have a field of the wrong type or an empty answer.",
    )
    leakage: Severity = Field(
        "error",
        description="A training row whose prompt is also in eval_data or val_data: it inflates every eval metric.",
    )
    near_leakage: Severity = Field(
        "warning",
        description="A training row that is a near-duplicate of a held-out "
        "row (similarity >= near_duplicate_threshold).",
    )
    duplicate: Severity = Field("warning", description="A row equal to an earlier one, ignoring case and whitespace.")
    near_duplicate: Severity = Field(
        "warning",
        description="A row whose word 3-grams overlap an earlier row's by "
        "near_duplicate_threshold or more (MinHash/LSH estimate).",
    )
    contradiction: Severity = Field("warning", description="The same prompt with a different answer.")
    debris: Severity = Field(
        "warning", description="HTML tags or entities, logging noise or stack traces, mojibake, control characters."
    )
    length: Severity = Field(
        "warning",
        description="Rows longer than train.max_length tokens under the base tokenizer: training truncates them.",
    )
    pii: Severity = Field("warning", description="E-mail addresses, phone numbers and card-like (Luhn-valid) numbers.")
    style: Literal["warning", "off"] = Field(
        "warning", description="Answers whose length or register is far from the rest (warnings only)."
    )
    tags: Severity = Field(
        "warning", description="Rows without a task tag when others have one; one-off tags that look like typos."
    )
    near_duplicate_threshold: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Similarity (Jaccard of word 3-grams) at or above which two rows are near-duplicates.",
    )
    style_outlier: float = Field(
        3.5, gt=0, description="Robust z-score of an answer's log word count beyond which `style` flags it."
    )
    max_row_bytes: int = Field(
        1_048_576,
        gt=0,
        le=1 << 30,
        description="Rows longer than this (bytes in the file) are refused as a schema problem without being "
        "parsed, which keeps the check's memory bounded.",
    )
    tag_field: str | None = Field(
        None,
        description="Row field holding the task tag; default: the first of tag, "
        "task, task_type, category that the rows have.",
    )

    def severity(self, check: str) -> str:
        return str(getattr(self, "schema_" if check == "schema" else check))


class Defaults(Section):
    lora: LoraSpec = Field(default_factory=LoraSpec, description="LoRA defaults for every adapter.")
    train: TrainSpec = Field(default_factory=TrainSpec, description="Training defaults for every adapter.")
    eval: EvalSpec = Field(default_factory=EvalSpec, description="Eval defaults for every adapter.")
    data: DataCheckSpec = Field(default_factory=DataCheckSpec, description="Data-check settings for every adapter.")


class AdapterSection(Section):
    description: str = Field("", description="One line on what the adapter is for.")
    data: str | None = Field(
        None,
        description="Training data: JSONL, CSV or Parquet, relative to the project root. "
        "Required, unless the adapter is a combination (`combine`).",
    )
    eval_data: str | None = Field(None, description="Held-out eval set used by `eval`.")
    val_data: str | None = Field(None, description="Validation set for val loss; default: split from data.")
    template: str | None = Field(None, description="Prompt template file with {field} placeholders.")
    lora: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.lora].")
    train: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.train].")
    eval: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.eval].")
    gates: dict[str, str] = Field(
        default_factory=dict,
        description='Eval gates, metric = "OP NUMBER" or "OP REF [+|- NUMBER]" with REF `base` or an environment, '
        'e.g. rouge_l = ">= 0.3", rouge_l = ">= prod - 0.01", eval_loss = "<= base".',
    )
    combine: list[str] | None = Field(
        None,
        description="Instead of data: build this adapter by combining the latest versions of these "
        'adapters (PEFT add_weighted_adapter), e.g. ["support", "docs"]; `train NAME` rebuilds it.',
    )
    method: Literal["linear", "cat", "svd", "ties", "dare_linear", "dare_ties"] | None = Field(
        None, description="How `combine` mixes the inputs (default linear)."
    )
    weights: list[float] | None = Field(None, description="One weight per `combine` input (default 1.0 each).")
    density: float | None = Field(
        None, gt=0, le=1, description="Share of each delta kept by ties/dare methods (default 0.5)."
    )
    data_checks: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of [defaults.data] (`data` itself names the data file)."
    )


class EnvironmentSection(Section):
    """[environments.NAME]: optional; only for environments that drive an inference server."""

    server: str = Field(
        pattern=r"^https?://[^\s/]+(/.*)?$",
        description='Base URL of the server this environment drives, e.g. "http://10.0.0.5:8000".',
    )
    engine: Literal["vllm"] = Field(
        "vllm", description="Server kind; vllm uses its runtime LoRA API (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)."
    )
    grace_seconds: float = Field(
        30.0, ge=0, description="How long a replaced version stays loaded for requests already sent to it."
    )
    adapters_root: str | None = Field(
        None, description="Where the server sees this project's adapters/ folder (default: the local path)."
    )
    api_key_env: str | None = Field(
        None, description="Environment variable holding the server's API key, sent as a bearer token."
    )
    timeout_seconds: float = Field(60.0, gt=0, description="Per-call timeout for the server's API.")


OVERRIDABLE: dict[str, type[Section]] = {"lora": LoraSpec, "train": TrainSpec, "eval": EvalSpec}
TOP_LEVEL = {"project", "base", "defaults", "adapters", "environments"}
