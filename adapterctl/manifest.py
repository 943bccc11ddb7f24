"""The manifest `adapterctl.toml`: typed schema, validation with key paths, resolution.

Every key is a documented pydantic field; `docs/manifest.md` is generated from these
models. Validation errors name the file, the line where it can be found, and the full key
path (`adapters.support.train.learning_rate`), with a did-you-mean for unknown keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapterctl import storage
from adapterctl.errors import ManifestError
from adapterctl.fingerprints import file_digest
from adapterctl.suggest import closest
from adapterctl.tomlread import tomllib

ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
GATE = re.compile(r"^\s*(>=|<=|>|<)\s*(-?\d+(\.\d+)?([eE][-+]?\d+)?)\s*$")
# Bounds that keep values inside what the libraries accept, so `validate` catches them:
# numpy seeds are < 2**32; itertools.islice and torch sizes need a C ssize_t; a row needs
# room for a prompt token and an answer token.
MAX_SEED = 2**32 - 1
MAX_COUNT = 2**31 - 1
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
        "default", description="How the adapter matrices start. pissa needs train.quantization = \"none\"; "
        "loftq needs nf4 or fp4 and a local safetensors base."
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
    epochs: float = Field(3, gt=0, le=MAX_COUNT, description="Passes over the training data (ignored when max_steps is set).")
    max_steps: int | None = Field(None, gt=0, le=MAX_COUNT, description="Stop after this many optimiser steps.")
    batch_size: int = Field(8, gt=0, le=MAX_BATCH, description="Rows per device per step.")
    max_tokens_per_batch: int | None = Field(
        None, gt=0, le=MAX_COUNT, description="Batch by tokens instead of rows: each step holds rows up to this many tokens "
        "(in seeded random order). Unset: batch_size rows on a CPU; on a GPU chosen from free memory (with a "
        "notice in the card) unless batch_size was changed from its default."
    )
    grad_accum: int = Field(1, gt=0, le=MAX_BATCH, description="Steps accumulated per update: effective batch = batch_size x grad_accum.")
    max_length: int = Field(512, ge=MIN_LENGTH, le=MAX_COUNT, description="Tokens per row; longer rows are truncated.")
    batching: Literal["padding_free", "packed", "padded"] = Field(
        "padding_free", description="How rows share a batch: without pad tokens, packed, or padded."
    )
    completion_only_loss: bool = Field(True, description="Mask prompt tokens: learn the answers only.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for activation memory.")
    val_split: float = Field(0.1, ge=0, lt=1, description="Fraction of data held out for val loss when no val_data is given.")
    eval_steps: int = Field(10, gt=0, le=MAX_COUNT, description="Compute val loss every this many steps.")
    checkpoint_steps: int | None = Field(
        None, gt=0, le=MAX_COUNT, description="Save a checkpoint for `train --resume` every this many steps; default: every "
        "eval_steps. With early stopping it must be a multiple of eval_steps."
    )
    early_stopping_patience: int = Field(0, ge=0, le=MAX_COUNT, description="Stop after this many evals without val-loss improvement; 0 is off. "
                                         "Needs a validation set: val_split > 0 or the adapter's val_data.")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Seed for data order, split and adapter init.")
    save_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Dtype of the saved adapter weights; 16-bit halves storage."
    )


class EvalSpec(Section):
    metrics: list[Literal["rouge_l", "exact_match", "val_loss", "perplexity"]] = Field(
        default_factory=lambda: ["rouge_l", "exact_match", "val_loss"], description="Metrics computed by eval."
    )
    max_new_tokens: int = Field(128, gt=0, le=MAX_COUNT, description="Generation budget per eval row.")
    batch_size: int = Field(16, gt=0, le=MAX_BATCH, description="Rows generated at once.")
    limit: int | None = Field(None, gt=0, le=MAX_COUNT, description="Evaluate on the first N rows only.")
    samples: int = Field(5, ge=0, le=MAX_COUNT, description="Sample outputs kept in the card for diff and report.")


Severity = Literal["error", "warning", "off"]


class DataCheckSpec(Section):
    """Severities and thresholds of `adapterctl data check` (and of the check `train` runs first).

    Each check key takes "error" (train refuses the data unless --force; `data check` exits 1),
    "warning" (reported only) or "off" (not run).
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    # `schema` would shadow pydantic's BaseModel.schema, so the attribute is schema_.
    schema_: Severity = Field("error", alias="schema", description="Rows that are not UTF-8 or JSON objects, lack "
                              "a field the template needs, have a field of the wrong type or an empty answer.")
    leakage: Severity = Field("error", description="A training row whose prompt is also in eval_data or val_data: "
                              "it inflates every eval metric.")
    near_leakage: Severity = Field("warning", description="A training row that is a near-duplicate of a held-out "
                                   "row (similarity >= near_duplicate_threshold).")
    duplicate: Severity = Field("warning", description="A row equal to an earlier one, ignoring case and whitespace.")
    near_duplicate: Severity = Field("warning", description="A row whose word 3-grams overlap an earlier row's by "
                                     "near_duplicate_threshold or more (MinHash/LSH estimate).")
    contradiction: Severity = Field("warning", description="The same prompt with a different answer.")
    debris: Severity = Field("warning", description="HTML tags or entities, logging noise or stack traces, "
                             "mojibake, control characters.")
    length: Severity = Field("warning", description="Rows longer than train.max_length tokens under the base "
                             "tokenizer: training truncates them.")
    pii: Severity = Field("warning", description="E-mail addresses, phone numbers and card-like (Luhn-valid) numbers.")
    style: Literal["warning", "off"] = Field("warning", description="Answers whose length or register is far from "
                                             "the rest (warnings only).")
    tags: Severity = Field("warning", description="Rows without a task tag when others have one; one-off tags "
                           "that look like typos.")
    near_duplicate_threshold: float = Field(0.85, gt=0, le=1, description="Similarity (Jaccard of word 3-grams) "
                                            "at or above which two rows are near-duplicates.")
    style_outlier: float = Field(3.5, gt=0, description="Robust z-score of an answer's log word count beyond which "
                                 "`style` flags it.")
    tag_field: str | None = Field(None, description="Row field holding the task tag; default: the first of tag, "
                                  "task, task_type, category that the rows have.")

    def severity(self, check: str) -> str:
        return getattr(self, "schema_" if check == "schema" else check)


class Defaults(Section):
    lora: LoraSpec = Field(default_factory=LoraSpec, description="LoRA defaults for every adapter.")
    train: TrainSpec = Field(default_factory=TrainSpec, description="Training defaults for every adapter.")
    eval: EvalSpec = Field(default_factory=EvalSpec, description="Eval defaults for every adapter.")
    data: DataCheckSpec = Field(default_factory=DataCheckSpec, description="Data-check settings for every adapter.")


class AdapterSection(Section):
    description: str = Field("", description="One line on what the adapter is for.")
    data: str | None = Field(
        None, description="Training data: JSONL, CSV or Parquet, relative to the project root. "
        "Required, unless the adapter is a combination (`combine`)."
    )
    eval_data: str | None = Field(None, description="Held-out eval set used by `eval`.")
    val_data: str | None = Field(None, description="Validation set for val loss; default: split from data.")
    template: str | None = Field(None, description="Prompt template file with {field} placeholders.")
    lora: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.lora].")
    train: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.train].")
    eval: dict[str, Any] = Field(default_factory=dict, description="Overrides of [defaults.eval].")
    gates: dict[str, str] = Field(
        default_factory=dict, description='Eval gates, metric = "OP NUMBER", e.g. rouge_l = ">= 0.3".'
    )
    combine: list[str] | None = Field(
        None, description='Instead of data: build this adapter by combining the latest versions of these '
        'adapters (PEFT add_weighted_adapter), e.g. ["support", "docs"]; `train NAME` rebuilds it.'
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


@dataclass(frozen=True)
class AdapterSpec:
    """One adapter with defaults and overrides applied: what `train` and `eval` use."""

    name: str
    description: str
    data: str | None  # None for a combination (see `combine`)
    eval_data: str | None
    val_data: str | None
    template: str | None
    lora: LoraSpec
    train: TrainSpec
    eval: EvalSpec
    gates: dict[str, str]
    data_checks: DataCheckSpec = field(default_factory=DataCheckSpec)
    # A combination's recipe ({inputs, method, weights, density}); None for trained adapters.
    combine: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return ({"combine": dict(self.combine)} if self.combine else {}) | {
            "name": self.name,
            "description": self.description,
            "data": self.data,
            "eval_data": self.eval_data,
            "val_data": self.val_data,
            "template": self.template,
            "lora": self.lora.model_dump(),
            "train": self.train.model_dump(),
            "eval": self.eval.model_dump(),
            "gates": dict(self.gates),
        }


@dataclass(frozen=True)
class Manifest:
    path: Path
    text: str
    project: ProjectSection
    base: BaseSection
    defaults: Defaults
    raw_adapters: dict[str, AdapterSection] = field(default_factory=dict)
    environments: dict[str, EnvironmentSection] = field(default_factory=dict)  # [environments.NAME]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def adapter_names(self) -> list[str]:
        return list(self.raw_adapters)

    def adapter(self, name: str, overrides: dict[str, Any] | None = None) -> AdapterSpec:
        """Defaults ⊕ the adapter's own tables ⊕ `overrides` (from --set), validated."""
        if name not in self.raw_adapters:
            raise ManifestError(f"{self.path.name}: no adapter named '{name}'{_did_you_mean(name, self.raw_adapters)}")
        raw = self.raw_adapters[name]
        resolved: dict[str, Section] = {}
        for table, model in OVERRIDABLE.items():
            own = getattr(raw, table)
            extra = (overrides or {}).get(table, {})
            merged = {**getattr(self.defaults, table).model_dump(), **own, **extra}
            try:
                resolved[table] = model.model_validate(merged)
            except ValidationError as exc:
                loc = str(exc.errors()[0]["loc"][0])
                if loc in extra:
                    where = f"--set {table}"
                else:
                    where = f"adapters.{name}.{table}" if loc in own else f"defaults.{table}"
                raise _as_manifest_error(exc, where, self) from None
        where = f"adapters.{name}.data_checks" if raw.data_checks else "defaults.data"
        try:
            checks = DataCheckSpec.model_validate({**self.defaults.data.model_dump(by_alias=True), **raw.data_checks})
        except ValidationError as exc:
            raise _as_manifest_error(exc, where, self) from None
        spec = AdapterSpec(
            name=name,
            description=raw.description,
            data=raw.data,
            eval_data=raw.eval_data,
            val_data=raw.val_data,
            template=raw.template,
            gates=dict(raw.gates),
            data_checks=checks,
            combine=combine_recipe(raw),
            **resolved,  # type: ignore[arg-type]
        )
        self._check_rules(spec, overrides or {})
        return spec

    def _check_rules(self, spec: AdapterSpec, overrides: dict[str, Any]) -> None:
        """Cross-field rules (spec_rules); the error blames the place where the key is set."""
        from adapterctl import spec_rules

        for violation in spec_rules.violations(spec)[:1]:
            table, leaf = violation.key.split(".", 1)
            if leaf in overrides.get(table, {}):
                raise ManifestError(f"--set {violation.key}: {violation.message}")
            own = getattr(self.raw_adapters[spec.name], table)
            where = f"adapters.{spec.name}.{violation.key}" if leaf in own else f"defaults.{violation.key}"
            raise _Ctx(self.path, self.text).error(where, violation.message)


def load(path: Path) -> Manifest:
    """Parse and validate the manifest at `path`; raise ManifestError with a key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path.name}:{_toml_error_line(exc)}: invalid TOML: {exc}") from None
    return from_dict(doc, path, text)


def from_dict(doc: dict[str, Any], path: Path, text: str = "") -> Manifest:
    ctx = _Ctx(path, text)
    for key in doc:
        if key not in TOP_LEVEL:
            raise ctx.error(key, f"unknown table{_did_you_mean(key, TOP_LEVEL)}")
    if "base" not in doc:
        raise ctx.error("base", "missing table [base] (it names the base model)")
    project = ctx.validate(ProjectSection, doc.get("project", {}), "project")
    base = ctx.validate(BaseSection, doc["base"], "base")
    defaults = ctx.validate(Defaults, doc.get("defaults", {}), "defaults")
    adapters_raw = doc.get("adapters", {})
    if not isinstance(adapters_raw, dict):
        raise ctx.error("adapters", "must be a table of [adapters.NAME] tables")
    adapters: dict[str, AdapterSection] = {}
    for name, table in adapters_raw.items():
        check_adapter_name(name, ctx)
        where = f"adapters.{name}"
        if not isinstance(table, dict):
            raise ctx.error(where, "must be a table")
        section = ctx.validate(AdapterSection, table, where)
        for sub, model in OVERRIDABLE.items():
            for key in getattr(section, sub):
                if key not in model.model_fields:
                    raise ctx.error(f"{where}.{sub}.{key}", f"unknown key{_did_you_mean(key, model.model_fields)}")
        data_keys = {f.alias or k for k, f in DataCheckSpec.model_fields.items()}
        for key in section.data_checks:
            if key not in data_keys:
                raise ctx.error(f"{where}.data_checks.{key}", f"unknown key{_did_you_mean(key, data_keys)}")
        for metric, rule in section.gates.items():
            if not GATE.match(rule):
                raise ctx.error(f"{where}.gates.{metric}", f'{rule!r}: write a gate as "OP NUMBER", OP one of >= <= > <')
        adapters[name] = section
    for name, section in adapters.items():
        _check_combination(name, section, adapters, ctx)
    envs_raw = doc.get("environments", {})
    if not isinstance(envs_raw, dict) or not all(isinstance(t, dict) for t in envs_raw.values()):
        raise ctx.error("environments", "must be a table of [environments.NAME] tables")
    envs = {env: ctx.validate(EnvironmentSection, table, f"environments.{env}") for env, table in envs_raw.items()}
    manifest = Manifest(path, text, project, base, defaults, adapters, envs)
    for name in adapters:  # validates each merged spec, naming the key path on error
        manifest.adapter(name)
    return manifest


DENSITY_METHODS = ("ties", "dare_linear", "dare_ties")


def combine_recipe(section: AdapterSection) -> dict[str, Any] | None:
    """{inputs, method, weights, density} of a combination adapter, defaults filled; None otherwise."""
    if section.combine is None:
        return None
    method = section.method or "linear"
    density = section.density if section.density is not None else (0.5 if method in DENSITY_METHODS else None)
    return {"inputs": list(section.combine), "method": method,
            "weights": list(section.weights) if section.weights else [1.0] * len(section.combine),
            "density": density}


def _check_combination(name: str, section: AdapterSection, adapters: dict[str, AdapterSection], ctx: _Ctx) -> None:
    """A trained adapter has `data`; a combination has `combine` (of trained adapters) instead."""
    where = f"adapters.{name}"
    if section.combine is None:
        if section.data is None:
            raise ctx.error(f"{where}.data", "required key is missing (or declare a combination with `combine`)")
        extra = [k for k in ("method", "weights", "density") if getattr(section, k) is not None]
        if extra:
            raise ctx.error(f"{where}.{extra[0]}", "only applies to a combination (set `combine` too)")
        return
    if section.data is not None:
        raise ctx.error(f"{where}.combine", "an adapter is trained on `data` or combines others, not both")
    if len(section.combine) < 2 or len(set(section.combine)) != len(section.combine):
        raise ctx.error(f"{where}.combine", "name at least two different adapters")
    for other in section.combine:
        if other not in adapters:
            raise ctx.error(f"{where}.combine", f"no adapter named '{other}'{_did_you_mean(other, adapters)}")
        if adapters[other].combine is not None:
            raise ctx.error(f"{where}.combine", f"'{other}' is itself a combination; combine trained adapters")
    if section.weights is not None and len(section.weights) != len(section.combine):
        raise ctx.error(f"{where}.weights", f"give one weight per combine input ({len(section.combine)})")
    if section.density is not None and (section.method or "linear") not in DENSITY_METHODS:
        raise ctx.error(f"{where}.density", f"only applies to the methods {', '.join(DENSITY_METHODS)}")


def check_adapter_name(name: str, ctx: _Ctx | None = None) -> None:
    if not ADAPTER_NAME.match(name):
        message = (
            f"invalid adapter name {name!r}: use letters, digits, '-' and '_', "
            "start with a letter or digit, at most 64 characters"
        )
        raise ctx.error(f"adapters.{json.dumps(name)}", message) if ctx else ManifestError(message)


def check_files(manifest: Manifest) -> list[str]:
    """Files the manifest names that are missing. DVC-tracked files not yet pulled count as present."""
    problems = []
    for name, section in manifest.raw_adapters.items():
        for key in ("data", "eval_data", "val_data", "template"):
            rel = getattr(section, key)
            if rel is None:
                continue
            target = (manifest.root / rel).resolve()
            if not target.is_relative_to(manifest.root.resolve()):
                problems.append(f"{manifest.path.name}: adapters.{name}.{key}: {rel} is outside the project")
            elif target.is_dir():
                problems.append(f"{manifest.path.name}: adapters.{name}.{key}: {rel} is a folder; name a file")
            elif not target.exists() and not storage.dvc_file(target).exists():
                line = _Ctx(manifest.path, manifest.text).line_of(f"adapters.{name}.{key}")
                problems.append(f"{manifest.path.name}{line}: adapters.{name}.{key}: file {rel} does not exist")
    return problems


def looks_local(model: str) -> bool:
    """A base.model written as a path (./x, ../x, /x, ~/x, a/b/c, a\\b) rather than a hub id (org/name)."""
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") >= 2


def check_local_base(manifest: Manifest) -> None:
    """A base.model that reads as a local path must exist (or be DVC-tracked, not yet pulled)."""
    model = manifest.base.model
    target = (manifest.root / Path(model).expanduser())
    first = manifest.root / model.split("/", 1)[0]
    local = looks_local(model) or ("/" in model and first.is_dir())  # e.g. models/x beside a models/ folder
    if local and not target.exists() and not storage.dvc_file(target).exists():
        line = _Ctx(manifest.path, manifest.text).line_of("base.model")
        raise ManifestError(f"{manifest.path.name}{line}: base.model: {model} looks like a local folder, "
                            "but it does not exist (a hub model is named ORG/NAME)")


def spec_hash(spec: AdapterSpec, root: Path) -> str:
    """Hash of what shapes the trained weights: data paths, template text, lora and train.

    Canonical JSON, so formatting, comments and key order do not matter. Description,
    eval settings and gates are left out: changing how a version is judged does not
    change the version.
    """
    material = {
        "data": spec.data,
        "val_data": spec.val_data,
        "template": spec.template,
        "template_sha256": _file_sha256(root / spec.template) if spec.template else None,
        "lora": spec.lora.model_dump(),
        "train": _without_unset_additions(spec.train.model_dump()),
    }
    if spec.combine:  # only combinations carry the key: existing hashes stay as they were
        material["combine"] = spec.combine
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()


# Train keys added after versions were first recorded: left out of the spec hash while unset,
# so adding them does not make every existing version stale.
ADDED_TRAIN_KEYS = ("max_tokens_per_batch",)


def _without_unset_additions(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if not (k in ADDED_TRAIN_KEYS and v is None)}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


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
            raise ManifestError(
                f"--set {key}: unknown key{_did_you_mean(leaf, OVERRIDABLE[table].model_fields)}"
            )
        result.setdefault(table, {})[leaf] = parse_value(value.strip())
    return result


def parse_value(text: str) -> Any:
    """A TOML value (`1e-4`, `true`, `["q_proj"]`), or the text itself as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _file_sha256(path: Path) -> str | None:
    try:
        return file_digest(path, "sha256")
    except FileNotFoundError:
        return None


def _did_you_mean(word: str, choices: Any) -> str:
    close = closest(word, choices, cutoff=0.4)
    return f" (did you mean '{close}'?)" if close else ""


def _toml_error_line(exc: Exception) -> str:
    lineno = getattr(exc, "lineno", None)
    if lineno is None:
        m = re.search(r"line (\d+)", str(exc))
        lineno = m.group(1) if m else "?"
    return str(lineno)


def _as_manifest_error(exc: ValidationError, where: str, manifest: Manifest) -> ManifestError:
    return _Ctx(manifest.path, manifest.text).from_validation(exc, where)


class _Ctx:
    """Turns validation failures into one-line errors with the file, line and key path."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.text = text

    def error(self, key_path: str, message: str) -> ManifestError:
        return ManifestError(f"{self.path.name}{self.line_of(key_path)}: {key_path}: {message}")

    def validate(self, model: type[Section], data: Any, where: str) -> Any:
        if not isinstance(data, dict):
            raise self.error(where, "must be a table")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.from_validation(exc, where) from None

    def from_validation(self, exc: ValidationError, where: str) -> ManifestError:
        errors = exc.errors()
        first = errors[0]
        loc = [str(p) for p in first["loc"] if not isinstance(p, int)]
        # Literal/union errors carry the branch name in loc; keep the first key only.
        fields = _field_prefix(loc)
        key_path = ".".join([where, *fields]) if fields else where
        if first["type"] == "extra_forbidden":
            model_fields = _fields_at(exc, fields[:-1])
            message = f"unknown key{_did_you_mean(fields[-1], model_fields)}"
        elif first["type"] == "missing":
            message = "required key is missing"
        else:
            message = f"{_clean(first['msg'])}, got {first.get('input')!r}"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return self.error(key_path, message + more)

    def line_of(self, key_path: str) -> str:
        """':LINE' where key_path is set in the file, best effort; '' when not found."""
        if not self.text:
            return ""
        wanted = key_path.replace('"', "").split(".")
        table: list[str] = []
        best = ""
        for number, line in enumerate(self.text.splitlines(), start=1):
            stripped = line.split("#", 1)[0].strip()
            header = re.match(r"^\[+\s*([^\]]+?)\s*\]+$", stripped)
            if header:
                table = [p.strip().strip('"') for p in header.group(1).split(".")]
                if table == wanted[: len(table)] and len(table) == len(wanted):
                    best = f":{number}"
                continue
            assign = re.match(r"^([A-Za-z0-9_.\"'-]+)\s*=", stripped)
            if assign:
                full = table + [p.strip().strip('"') for p in assign.group(1).split(".")]
                if full == wanted[: len(full)] and full:
                    return f":{number}"
        return best


def _field_prefix(loc: list[str]) -> list[str]:
    out = []
    for part in loc:
        if part.startswith(("literal[", "list[", "function-")) or part in {"str", "int", "float", "bool"}:
            break
        out.append(part)
    return out


def _fields_at(exc: ValidationError, path: list[str]) -> list[str]:
    model: Any = _MODELS_BY_TITLE.get(exc.title)
    for part in path:
        if model is None:
            return []
        info = model.model_fields.get(part)
        model = info.annotation if info and isinstance(info.annotation, type) else None
    return list(model.model_fields) if model is not None and hasattr(model, "model_fields") else []


def _clean(msg: str) -> str:
    return msg[0].lower() + msg[1:] if msg else msg


_MODELS_BY_TITLE: dict[str, type[Section]] = {
    m.__name__: m
    for m in (ProjectSection, BaseSection, LoraSpec, TrainSpec, EvalSpec, Defaults, AdapterSection, DataCheckSpec)
}
