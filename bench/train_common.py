"""Shared by bench/cpu_train.py and bench/gpu_train.py: the naive pipeline of the LoRA guide
(docs reference: pad every row to 1024, batch 1 x grad-accum 8, fp16, plain Trainer), a tuned
plain TRL SFTTrainer run (the peer), and adapterctl's recipe, timed on the same base model and
the same rows in one process.

Throughput counts real tokens only: pad tokens a pipeline feeds the model are work, not
progress. Each measurement skips the first optimiser step (allocations, kernel selection).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

NAIVE_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Measurement:
    pipeline: str
    steps: int  # optimiser steps measured (after the first)
    real_tokens: int
    fed_tokens: int  # real + padding
    seconds: float
    tokens_per_second: float
    peak_memory_gb: float | None
    notes: str = ""
    case: str = "short rows"
    mfu: float | None = None  # fraction of the measured bf16 matmul rate (4 x linear params FLOPs per token)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CountingCollator:
    """Wraps a data collator and counts the tokens of every batch it builds."""

    def __init__(self, inner, pad_token_id: int) -> None:
        self.inner, self.pad = inner, pad_token_id
        self.real = self.fed = 0

    def __call__(self, examples):
        batch = self.inner(examples)
        self.fed += batch["input_ids"].numel()
        mask = batch.get("attention_mask")
        # With a mask, it marks the real tokens; padding-free and packed batches have none, and
        # their examples hold no padding, so the examples' lengths are the real tokens.
        if mask is not None:
            self.real += int(mask.sum())
        else:
            from adapterctl.train.collate import ungroup

            self.real += sum(len(ex["input_ids"]) for ex in ungroup(examples))
        return batch


def meter(collator: CountingCollator, device: str):
    """A TrainerCallback that snapshots (time, tokens) after the first optimiser step and at the end."""
    import torch
    from transformers import TrainerCallback

    class Meter(TrainerCallback):
        def __init__(self) -> None:
            self.start: tuple[float, int, int] | None = None
            self.end: tuple[float, int, int] | None = None
            self.steps = 0

        def _now(self) -> tuple[float, int, int]:
            if device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter(), collator.real, collator.fed

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:
                self.start = self._now()
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
            elif self.start is not None:
                self.end = self._now()
                self.steps = state.global_step - 1

        def result(self, pipeline: str, notes: str = "") -> Measurement:
            assert self.start and self.end, "train at least 2 steps"
            seconds = self.end[0] - self.start[0]
            real, fed = self.end[1] - self.start[1], self.end[2] - self.start[2]
            peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
            return Measurement(
                pipeline,
                self.steps,
                real,
                fed,
                round(seconds, 3),
                round(real / seconds, 1),
                round(peak, 2) if peak is not None else None,
                notes,
            )

    return Meter()


def naive_rows(project_root: Path, data: str, template: str | None) -> list[dict[str, str]]:
    """The adapter's rows as prompt/answer text, rendered through its template (same text as the recipe)."""
    from adapterctl.data import examples

    built = examples.build(project_root, data=data, val_data=None, template=template, val_split=0.0, seed=0)
    return [{"prompt": r["prompt"], "completion": r["completion"]} for r in built.train]


def run_naive(
    model,
    tokenizer,
    rows: list[dict[str, str]],
    *,
    steps: int,
    out_dir: Path,
    device: str,
    fp16: bool,
    max_length: int = 1024,
) -> Measurement:
    """The guide's pipeline, verbatim in spirit: padded to max_length, labels = input_ids, plain Trainer."""
    import datasets
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import Trainer, TrainingArguments, default_data_collator

    tokenizer.pad_token = tokenizer.eos_token

    def format_example(example):
        tokens = tokenizer(
            example["prompt"] + "\n" + example["completion"],
            truncation=True,
            padding="max_length",
            max_length=max_length,
        )
        tokens["labels"] = tokens["input_ids"].copy()
        return tokens

    tokenized = datasets.Dataset.from_list(rows).map(format_example, remove_columns=["prompt", "completion"])
    peft_model = get_peft_model(
        model,
        LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=NAIVE_TARGETS),
    )
    collator = CountingCollator(default_data_collator, tokenizer.pad_token_id)
    m = meter(collator, device)
    args = TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=1,
        gradient_accumulation_steps=8,
        learning_rate=2e-4,
        max_steps=steps + 1,
        fp16=fp16,
        logging_steps=10,
        warmup_steps=0.05,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        use_cpu=device == "cpu",
    )
    trainer = Trainer(model=peft_model, args=args, train_dataset=tokenized, data_collator=collator, callbacks=[m])
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.train()
    notes = "fp16" if fp16 else "fp32 (fp16 autocast unavailable on this device)"
    result = m.result("naive (pad to 1024, batch 1 x accum 8, Trainer)", notes)
    peft_model.unload()
    return result


def run_recipe(project, job, bases, *, steps: int, device: str) -> Measurement:
    """adapterctl's SFTRecipe, as `adapterctl train` runs it, with val loss off (pure training time)."""
    from adapterctl.train import runs
    from adapterctl.train.options import RunOptions
    from adapterctl.train.recipe import SFTRecipe

    run = runs.create(project, job.adapter, job.to_dict())
    recipe = SFTRecipe(project, run, job, RunOptions(progress="none"), bases=bases)
    recipe.setup()
    trainer = recipe.trainer
    collator = CountingCollator(trainer.data_collator, recipe.base.tokenizer.pad_token_id)
    trainer.data_collator = collator
    m = meter(collator, device)
    trainer.add_callback(m)
    try:
        recipe.train()
        train = job.adapter_spec().train
        per_step = f"<= {train.max_tokens_per_batch} tokens" if recipe.token_batches else f"batch {train.batch_size}"
        notes = (
            f"{recipe.batching['used']}, {per_step} x accum {train.grad_accum}, "
            f"{recipe.base.key.quantization}, compute {recipe.base.key.compute_dtype}, "
            f"attention {recipe.attention['implementation']}, rows apart verified: "
            f"{recipe.batching.get('verified')}, checkpointing {recipe.plan.gradient_checkpointing}, "
            f"liger {recipe.liger}"
        )
        return m.result(f"adapterctl recipe ({recipe.batching['used']})", notes)
    finally:
        recipe.cleanup()


def run_peer(
    model,
    tokenizer,
    rows: list[dict[str, str]],
    *,
    steps: int,
    out_dir: Path,
    device: str,
    tokens_per_step: int,
    max_length: int,
) -> Measurement:
    """What a careful user writes with plain TRL: SFTTrainer with a LoraConfig on the k-bit base,
    best-fit packing (TRL's padding-free layout, rows kept apart by position ids), bf16, the best
    attention installed (flash_attention_2 if flash-attn is, else sdpa), no gradient checkpointing,
    completion-only loss, and the same tokens per step as the recipe."""
    import importlib.util

    import datasets
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    attn = "flash_attention_2" if device == "cuda" and importlib.util.find_spec("flash_attn") else "sdpa"
    previous = model.config._attn_implementation
    model.set_attn_implementation(attn)
    on_gpu = device == "cuda"
    args = SFTConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=max(1, tokens_per_step // max_length),
        gradient_accumulation_steps=1,
        learning_rate=2e-4,
        max_steps=steps + 1,
        warmup_steps=0.05,
        bf16=on_gpu,
        fp16=False,
        use_cpu=not on_gpu,
        gradient_checkpointing=False,
        max_length=max_length,
        packing=True,
        packing_strategy="bfd",
        completion_only_loss=True,
        logging_steps=10,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        dataset_num_proc=None,
        dataloader_num_workers=0,
        seed=0,
    )
    config = LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=config,
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    collator = CountingCollator(trainer.data_collator, tokenizer.pad_token_id)
    trainer.data_collator = collator
    m = meter(collator, device)
    trainer.add_callback(m)
    try:
        trainer.train()
        notes = (
            f"TRL SFTTrainer, packing bfd {args.per_device_train_batch_size} x {max_length} tokens, "
            f"attention {attn}, {'bf16' if on_gpu else 'fp32'}, no k-bit upcast, no checkpointing"
        )
        return m.result("plain TRL SFTTrainer (tuned peer)", notes)
    finally:
        trainer.model.unload()
        model.set_attn_implementation(previous)


def long_rows(
    rows: list[dict[str, str]], tokenizer, *, low: int, high: int, tokens: int, seed: int = 0
) -> list[dict[str, str]]:
    """Prompt/completion rows of `low`..`high` tokens (uniform), about `tokens` in all: consecutive
    short rows joined into one long prompt, the last one's answer as the completion."""
    import random

    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    total, i = 0, 0
    while total < tokens:
        target = rng.randint(low, high)
        parts: list[str] = []
        length = 0
        while True:
            row = rows[i % len(rows)]
            i += 1
            text = row["prompt"] + row["completion"]
            n = len(tokenizer(text).input_ids)
            if parts and length + n > target:
                break
            parts.append(text)
            length += n
        last = rows[(i - 2) % len(rows)]
        out.append({"prompt": "\n\n".join(parts[:-1] + [last["prompt"]]), "completion": last["completion"]})
        total += length
    return out


def linear_params(model) -> int:
    """Weights of the linear layers (decoder and LM head; 4-bit layers counted unpacked): the N in
    the 4N FLOPs per token of a frozen-base LoRA step (forward 2N, input gradients 2N)."""
    import torch

    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))


def matmul_tflops(device: str, size: int = 8192, repeats: int = 10) -> float:
    """Measured TFLOP/s of a size^3 matmul in bf16 (fp32 on a CPU), after three warm-ups."""
    import torch

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    del a, b
    return 2 * size**3 * repeats / seconds / 1e12


def recipe_job(project, name: str, overrides: list[str], steps: int):
    from adapterctl import manifest
    from adapterctl.train.job import TrainJob

    m = manifest.load(project.manifest_path)
    spec = m.adapter(
        name, manifest.parse_overrides([f"train.max_steps={steps + 1}", "train.val_split=0.0", *overrides])
    )
    return TrainJob.from_spec(spec, manifest.spec_hash(spec, project.root), m.base)


def report(results: list[Measurement], baseline: Measurement) -> str:
    header = (
        f"{'case':11} {'pipeline':40} {'real tok/s':>11} {'x naive':>8} {'tok/step':>9} {'pad %':>6} "
        f"{'peak GB':>8} {'MFU':>6}  notes"
    )
    lines = [header]
    for r in results:
        pad = 100 * (1 - r.real_tokens / r.fed_tokens) if r.fed_tokens else 0
        peak = f"{r.peak_memory_gb:.2f}" if r.peak_memory_gb is not None else "-"
        mfu = f"{100 * r.mfu:5.1f}%" if r.mfu is not None else "-"
        per_step = r.fed_tokens / r.steps if r.steps else 0
        lines.append(
            f"{r.case:11} {r.pipeline:40} {r.tokens_per_second:11.1f} "
            f"{r.tokens_per_second / baseline.tokens_per_second:8.2f} {per_step:9.0f} {pad:6.1f} {peak:>8} "
            f"{mfu:>6}  {r.notes}"
        )
    return "\n".join(lines)
