"""The card's [training] table: what produced the weights, typed key by key.

A trained version records its run's summary (train/recipe.py writes it to the run's
summary.json; registration copies it here); an imported one records `source = "import"` and
where it came from (adopt.py); a combination `source = "combine"` (merge/combine.py).

Every key some adapterctl has written is declared, with its type: a value of the wrong type is
refused rather than converted (`_Exact`), and keys a newer adapterctl writes are kept as
extras. The tables are written in the order given (records.py): summary.json sorts its keys, so
a trained card's [training] lists them alphabetically, and re-saving it moves no line. Fields
whose comment says "older cards" are no longer written and are declared so those cards load
with the same checks.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from adapterctl.versions.tables import Libraries, Number, PromptRecord, _Exact


class ValLoss(_Exact):
    """training.val_loss: the val loss before training, its best, its last, and the relative drop."""

    first: Number | None = None
    best: Number | None = None
    final: Number | None = None
    drop: Number | None = None


class LossPoint(_Exact):
    """One point of training.history (train/curve.py): a step and the losses logged at it."""

    step: int
    loss: Number | None = None
    val_loss: Number | None = None


class RunData(_Exact):
    """training.data: the rows training read (data/examples.SFTData.summary)."""

    format: str | None = None  # instruction | prompt_completion | chat
    template: str | None = None  # the template's path; absent for chat rows
    train_rows: int | None = None
    val_rows: int | None = None
    val_source: str | None = None  # val_data | val_split | none
    data_sha256: str | None = None  # what registration checks the data file still holds
    val_sha256: str | None = None
    # In the run's summary.json only: registration moves it to the card's own [prompt] table.
    prompt: PromptRecord | None = None


class TokenBatchStats(_Exact):
    """training.token_batches: batches cut by a token budget (train/token_batches.py)."""

    max_tokens_per_batch: int | None = None
    batches: int | None = None
    mean_tokens_per_batch: Number | None = None
    mean_rows_per_batch: Number | None = None


class Quantization(_Exact):
    """training.quantization: the base's quantisation, as asked and as used (modeling.quantization_config).
    `merge --into dequantized` rounds the base the same way."""

    requested: str | None = None  # nf4 | fp4 | int8 | none
    used: str | None = None  # "none" when bitsandbytes could not run here
    notice: str | None = None  # why used differs from requested
    double_quant: bool | None = None  # 4-bit only
    compute_dtype: str | None = None  # 4-bit only
    quant_storage: str | None = None  # under FSDP: the dtype the packed weights were stored in


class BaseLoad(_Exact):
    """training.base: how the base was loaded for training (modeling.BaseInfo)."""

    model: str | None = None  # as the manifest names it
    revision: str | None = None
    source: str | None = None  # local | hub
    commit: str | None = None  # the hub commit actually loaded
    dtype: str | None = None
    device: str | None = None
    attn_implementation: str | None = None
    quantization: Quantization | None = None  # older cards: recorded here as well as in training.quantization


class Batching(_Exact):
    """training.batching: how rows were laid out in a batch (train/batching.resolve)."""

    requested: str | None = None  # padding_free | packed | padded
    used: str | None = None
    attn_implementation: str | None = None
    verified: bool | None = None  # the probe found rows kept apart
    notice: str | None = None  # why used differs from requested
    layout: str | None = None  # padding-free: varlen, or bins of max_length


class Attention(_Exact):
    """training.attention: the attention kernel trained with, and why (train/attention.prepare)."""

    implementation: str | None = None
    why: str | None = None
    loss: str | None = None  # how the loss was computed


class PeakMemory(_Exact):
    """training.memory.peak: GPU memory allocated by torch, or the process's resident set on a CPU."""

    device: str | None = None  # cuda | cpu
    peak_allocated_gb: Number | None = None  # cuda
    peak_reserved_gb: Number | None = None  # cuda
    peak_rss_gb: Number | None = None  # cpu


class Memory(_Exact):
    """training.memory: the memory plan (train/memory.Plan.record) and the peak measured."""

    max_tokens_per_batch: int | None = None  # absent: batches of batch_size rows
    gradient_checkpointing: bool | None = None
    free_gb: Number | None = None  # cuda: free memory the budget was chosen from
    activation_mb_per_token: Number | None = None  # cuda: the estimate behind the budget
    peak: PeakMemory | None = None


class LauncherRecord(_Exact):
    """training.launcher: how the run was started (train/options.Launcher)."""

    kind: str | None = None  # none | accelerate
    num_processes: int | None = None  # absent: one per device
    config: str | None = None  # an accelerate config preset or YAML path


class Training(_Exact):
    """What produced the weights. Written in the order given (see the module docstring)."""

    source: str | None = None  # "import" for adopted folders, "combine" for combinations; absent: trained
    any_base: bool | None = None  # imported with --any-base: its own config named another base
    # ── import (versions/adopt.py)
    from_: str | None = Field(None, alias="from")  # the folder imported
    declared_base: str | None = None  # with any_base: the base its adapter_config.json named
    # ── a training run (train/recipe.py's summary)
    run_id: str | None = None
    steps: int | None = None
    planned_steps: int | None = None
    epochs: Number | None = None  # passes over the training rows
    early_stopped: bool | None = None
    effective_batch: Number | None = None  # rows per optimiser step, across processes
    token_batches: TokenBatchStats | None = None  # batches cut by a token budget
    world_size: int | None = None
    resumed_from_step: int | None = None
    data: RunData | None = None
    val_loss: ValLoss | None = None
    train_loss: Number | None = None  # the last logged train loss
    tokens: int | None = None
    train_seconds: Number | None = None
    tokens_per_second: Number | None = None
    base: BaseLoad | None = None
    quantization: Quantization | None = None
    batching: Batching | None = None
    completion_only_loss: bool | None = None
    gradient_checkpointing: bool | None = None
    attention: Attention | None = None
    precision: str | None = None  # how a k-bit base was prepared (runtime/precision.py)
    liger_kernel: bool | None = None
    memory: Memory | None = None
    save_dtype: str | None = None
    init_lora_weights: str | None = None
    launcher: LauncherRecord | None = None
    loss_curve: str | None = None  # the plot's file name in the version folder
    history: list[LossPoint] | None = None  # the loss curve, compacted to about 200 points
    notices: list[str] | None = None  # what the run chose or fell back to, said once
    # ── older cards
    seed: int | None = None  # now the card's top-level `seed`
    libraries: Libraries | None = None  # now the card's [libraries]

    def final_val_loss(self) -> Number | None:
        """The val loss of the saved weights; None without val data (and for imports)."""
        return self.val_loss.final if self.val_loss else None

    def trained_quantization(self) -> str:
        """What the base was quantised to in training: nf4, fp4, int8, none, or "unknown" (no record)."""
        return (self.quantization.used if self.quantization else None) or "unknown"

    def without_history(self) -> dict[str, Any]:
        """Every key but the loss curve's points, which are most of a card."""
        return {k: v for k, v in self.to_dict().items() if k != "history"}

    def for_card(self) -> tuple[Training, PromptRecord | None]:
        """(the record a card keeps, the prompt format): summary.json holds the prompt under
        `data`; the card keeps it in its own [prompt] table."""
        if self.data is None or self.data.prompt is None:
            return self, None
        data = self.data.model_copy(update={"prompt": None})
        return self.model_copy(update={"data": data}), self.data.prompt
