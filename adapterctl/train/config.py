"""TRL's SFTConfig from an adapter's train spec: the one place where manifest keys meet
trainer arguments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from adapterctl.manifest import TrainSpec


def sft_config(
    train: TrainSpec,
    output_dir: Path,
    *,
    batching: str,
    device: str,
    compute_dtype: str,
    has_val: bool,
    world_size: int = 1,
    rows_per_batch: int | None = None,
    gradient_checkpointing: bool | None = None,
):
    """SFTConfig for `train`, with `batching` the method actually used (see batching.resolve).

    `rows_per_batch` overrides batch_size for training (1 when batches are token budgets, see
    token_batches.py); `gradient_checkpointing` is the memory plan's decision (memory.plan).
    """
    from trl import SFTConfig

    checkpointing = train.gradient_checkpointing if gradient_checkpointing is None else gradient_checkpointing
    on_gpu = device == "cuda"
    steps = train.eval_steps
    early = train.early_stopping_patience > 0
    every = train.checkpoint_steps or steps  # a multiple of eval_steps with early stopping: manifest/rules.py
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        seed=train.seed,
        data_seed=train.seed,
        # Optimisation
        learning_rate=train.learning_rate,
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=train.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=train.weight_decay,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps or -1,
        per_device_train_batch_size=rows_per_batch or train.batch_size,
        per_device_eval_batch_size=train.batch_size,
        gradient_accumulation_steps=train.grad_accum,
        gradient_checkpointing=checkpointing,  # SFTConfig defaults it on; the spec (or the memory plan) decides
        gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
        # Precision: SFTConfig defaults bf16=True, which CPUs run slowly and lossily.
        bf16=on_gpu and compute_dtype == "bfloat16",
        fp16=on_gpu and compute_dtype == "float16",
        use_cpu=not on_gpu,
        # Data: prompt/completion rows; the completion alone carries the loss by default.
        max_length=train.max_length,
        completion_only_loss=train.completion_only_loss,
        packing=batching == "packed",
        packing_strategy="bfd",  # best-fit: whole rows per bin, never split across bins
        padding_free=False,  # padding-free rows get our own collator (see recipe): TRL forbids it with max_length
        dataset_num_proc=None,
        # Evaluation, checkpoints (resume) and early stopping
        eval_strategy="steps" if has_val else "no",
        eval_steps=steps,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,  # the best one is kept too when it is loaded at the end
        load_best_model_at_end=has_val and early,
        metric_for_best_model="eval_loss" if has_val and early else None,
        greater_is_better=False if has_val and early else None,
        # Output: our progress bar and loss curve, no trackers or tqdm
        logging_strategy="steps",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False if world_size > 1 else None,
    )
    return SFTConfig(**kwargs)


LIGER_ENV = "ADAPTERCTL_LIGER"  # 0: never apply Liger kernels


def apply_liger(model, device: str) -> tuple[bool, str | None]:
    """Liger's fused layer kernels (RMSNorm, SwiGLU, RoPE; Triton, so CUDA only) on `model` when
    the optional liger-kernel package is installed and knows the model type. The loss stays TRL's
    fused LM head (Liger's fused linear cross-entropy would replace the forward TRL patches).
    Returns (applied, a notice when it was wanted but failed)."""
    import importlib.util

    if device != "cuda" or os.environ.get(LIGER_ENV) == "0" or importlib.util.find_spec("liger_kernel") is None:
        return False, None
    try:
        from liger_kernel.transformers.monkey_patch import (
            MODEL_TYPE_TO_APPLY_LIGER_FN,
            _apply_liger_kernel_to_instance,
        )

        if getattr(model.config, "model_type", None) not in MODEL_TYPE_TO_APPLY_LIGER_FN:
            return False, None
        _apply_liger_kernel_to_instance(
            model=model, rope=True, rms_norm=True, swiglu=True, cross_entropy=False, fused_linear_cross_entropy=False
        )
    except Exception as exc:  # noqa: BLE001 - an incompatible liger-kernel must not stop training
        return False, f"liger-kernel could not be applied ({type(exc).__name__}: {str(exc)[:120]}); trained without it"
    return True, None
