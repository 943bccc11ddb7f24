"""Shared by bench/cpu_train.py and bench/gpu_train.py: the naive pipeline of the LoRA guide
(docs reference: pad every row to 1024, batch 1 x grad-accum 8, fp16, plain Trainer) and
adapterctl's recipe, timed on the same base model and the same rows in one process.

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
        self.real += int(mask.sum()) if mask is not None else sum(len(ex["input_ids"]) for ex in examples)
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
            return Measurement(pipeline, self.steps, real, fed, round(seconds, 3), round(real / seconds, 1),
                               round(peak, 2) if peak is not None else None, notes)

    return Meter()


def naive_rows(project_root: Path, data: str, template: str | None) -> list[dict[str, str]]:
    """The adapter's rows as prompt/answer text, rendered through its template (same text as the recipe)."""
    from adapterctl.data import examples

    built = examples.build(project_root, data=data, val_data=None, template=template, val_split=0.0, seed=0)
    return [{"prompt": r["prompt"], "completion": r["completion"]} for r in built.train]


def run_naive(model, tokenizer, rows: list[dict[str, str]], *, steps: int, out_dir: Path, device: str,
              fp16: bool, max_length: int = 1024) -> Measurement:
    """The guide's pipeline, verbatim in spirit: padded to max_length, labels = input_ids, plain Trainer."""
    import datasets
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import Trainer, TrainingArguments, default_data_collator

    tokenizer.pad_token = tokenizer.eos_token

    def format_example(example):
        tokens = tokenizer(example["prompt"] + "\n" + example["completion"], truncation=True,
                           padding="max_length", max_length=max_length)
        tokens["labels"] = tokens["input_ids"].copy()
        return tokens

    tokenized = datasets.Dataset.from_list(rows).map(format_example, remove_columns=["prompt", "completion"])
    peft_model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_alpha=32,
                                                  lora_dropout=0.05, target_modules=NAIVE_TARGETS))
    collator = CountingCollator(default_data_collator, tokenizer.pad_token_id)
    m = meter(collator, device)
    args = TrainingArguments(
        output_dir=str(out_dir), per_device_train_batch_size=1, gradient_accumulation_steps=8,
        learning_rate=2e-4, max_steps=steps + 1, fp16=fp16, logging_steps=10, warmup_steps=0.05,
        report_to="none", save_strategy="no", disable_tqdm=True, use_cpu=device == "cpu",
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
    from adapterctl.train.recipe import SFTRecipe

    run = runs.create(project, job.adapter, job.to_dict())
    recipe = SFTRecipe(project, run, job, bases=bases)
    recipe.setup()
    trainer = recipe.trainer
    collator = CountingCollator(trainer.data_collator, recipe.base.tokenizer.pad_token_id)
    trainer.data_collator = collator
    m = meter(collator, device)
    trainer.add_callback(m)
    try:
        recipe.train()
        train = job.adapter_spec().train
        notes = (f"{recipe.batching['used']}, batch {train.batch_size} x accum {train.grad_accum}, "
                 f"{recipe.base.key.quantization}, compute {recipe.base.key.compute_dtype}")
        return m.result(f"adapterctl recipe ({recipe.batching['used']})", notes)
    finally:
        recipe.cleanup()


def recipe_job(project, name: str, overrides: list[str], steps: int):
    from adapterctl import manifest
    from adapterctl.train.job import TrainJob

    m = manifest.load(project.manifest_path)
    spec = m.adapter(name, manifest.parse_overrides([f"train.max_steps={steps + 1}", "train.val_split=0.0",
                                                     *overrides]))
    return TrainJob.from_spec(spec, manifest.spec_hash(spec, project.root), m.base, progress="none")


def report(results: list[Measurement], baseline: Measurement) -> str:
    lines = [f"{'pipeline':58} {'real tok/s':>11} {'x naive':>8} {'pad %':>6} {'peak GB':>8}  notes"]
    for r in results:
        pad = 100 * (1 - r.real_tokens / r.fed_tokens) if r.fed_tokens else 0
        peak = f"{r.peak_memory_gb:.2f}" if r.peak_memory_gb is not None else "-"
        lines.append(f"{r.pipeline:58} {r.tokens_per_second:11.1f} {r.tokens_per_second / baseline.tokens_per_second:8.2f} "
                     f"{pad:6.1f} {peak:>8}  {r.notes}")
    return "\n".join(lines)
