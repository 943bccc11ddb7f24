"""The SFT recipe: one adapter spec in, one PEFT adapter folder and a training record out.

    recipe = SFTRecipe(project, run, job, options)
    recipe.setup()    # data, base (quantised), LoRA, batching check, trainer
    recipe.train()    # baseline val loss, then the loop (resumes from the last checkpoint)
    recipe.save()     # PEFT folder in save_dtype, loss curve, summary.json
    recipe.cleanup()  # unload LoRA so the next adapter can reuse the base

The same class runs in-process and under `accelerate launch` (one per process, rank 0
writes the files). What to train comes from the job's spec, how to report it from the run
options (options.py); nothing here reads the manifest.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

from adapterctl import modeling
from adapterctl.core.errors import DataError, ManifestError
from adapterctl.core.project import Project
from adapterctl.data import examples
from adapterctl.data.prompts import PromptFormat
from adapterctl.runtime.quiet import quiet
from adapterctl.runtime.threads import cpu_threads
from adapterctl.train import attention, collate, lora, memory, save
from adapterctl.train.base_cache import BaseCache
from adapterctl.train.job import TrainJob
from adapterctl.train.options import RunOptions
from adapterctl.train.runs import Run
from adapterctl.versions.card import Training, training_record


class SFTRecipe:
    def __init__(
        self,
        project: Project,
        run: Run,
        job: TrainJob,
        options: RunOptions,
        *,
        bases: BaseCache | None = None,
        sink=None,
        resume: bool = False,
    ) -> None:
        from adapterctl.train import progress

        self.project = project
        self.run = run
        self.job = job
        self.options = options
        self.spec = job.adapter_spec()
        self.bases = bases or BaseCache()
        self.sink = sink or progress.make(options.progress)
        self.resume = resume
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0")) if self.world_size > 1 else None
        self.model: Any = None
        self.trainer: Any = None
        self.resumed_from: int | None = None

    # ── setup ────────────────────────────────────────────────────────────────
    def setup(self) -> None:
        from transformers import set_seed

        spec, train = self.spec, self.spec.train
        set_seed(train.seed)
        assert spec.data is not None  # combinations are made by `combine`, never trained
        with quiet():
            self.data = examples.build(
                self.project.root,
                data=spec.data,
                val_data=spec.val_data,
                template=spec.template,
                val_split=train.val_split,
                seed=train.seed,
            )
        # The schema requires val_split > 0 or val_data (manifest/rules.py); this catches a split too small to yield rows.
        if train.early_stopping_patience and self.data.val is None:
            raise ManifestError(
                f"adapters.{spec.name}.train.early_stopping_patience needs val loss: set val_split > 0 or val_data"
            )
        self.device = modeling.device()
        self.base = self.bases.get(self.project, self.job, self.device, self.local_rank)
        self._threads = cpu_threads(self.device, self.base.model)
        tokenizer = self.base.tokenizer
        if self.data.format == "chat" and not tokenizer.chat_template:
            raise DataError(
                f"{spec.data}: chat rows need a tokenizer with a chat template; {self.base.info.model} has none"
            )
        if self.data.format == "chat":  # the card records the chat template training rendered with
            self.data.prompt = PromptFormat("chat", chat_template=tokenizer.chat_template)
        quantization = self.base.key.quantization
        lora.check_init(spec.lora, quantization, self.base.info.source == "local", where=f"adapters.{spec.name}.lora")
        self._choose_attention()
        self.plan = memory.plan(
            train, self.base.model, self.device, self.base.key.compute_dtype, world_size=self.world_size
        )
        self._build_model()
        self._build_trainer()

    def _choose_attention(self) -> None:
        train = self.spec.train
        self._attn_before = self.base.model.config._attn_implementation
        self.batching, self.attention = attention.prepare(
            self.base.model, train.batching, self.device, self.base.key.compute_dtype
        )

    def _build_model(self) -> None:
        from peft import get_peft_model
        from transformers import set_seed

        from adapterctl.train.config import apply_liger

        spec = self.spec
        self.liger, notice = apply_liger(self.base.model, self.device)  # before LoRA wraps the linears
        if notice:
            self.plan.notices.append(notice)
        config = lora.lora_config(spec.lora, self.base.model, where=f"adapters.{spec.name}.lora")
        set_seed(spec.train.seed)  # the adapter's initial weights come from the seed alone
        with quiet():
            self.model = get_peft_model(self.base.model, config)
        if spec.lora.init_lora_weights == "loftq":
            lora.apply_loftq(self.model, self.base.key.source)
        self.init_dir: Path | None = None
        if spec.lora.init_lora_weights in lora.MUTATES_BASE:
            if self.world_size > 1:
                raise ManifestError(
                    f"adapters.{spec.name}.lora.init_lora_weights: {spec.lora.init_lora_weights} "
                    "is not supported with --launcher accelerate; train it in one process"
                )
            self.bases.discard()  # the base now holds base − initial adapter
            if self.rank == 0:
                self.init_dir = save.save_initial(self.model, self.run.dir / "init_adapter")

    def _build_trainer(self) -> None:
        from transformers import EarlyStoppingCallback
        from trl import SFTTrainer
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        from adapterctl.train.callbacks import ProgressCallback
        from adapterctl.train.config import sft_config

        train, used, plan = self.spec.train, self.batching["used"], self.plan
        budget = plan.max_tokens_per_batch
        self.by_tokens = budget is not None and used != "packed"
        rows = 1 if self.by_tokens else (max(1, budget // train.max_length) if budget else None)
        if plan.gradient_checkpointing:
            self.base.model.enable_input_require_grads()  # reentrant checkpointing needs a grad at the input
        with quiet():
            args = sft_config(
                train,
                self.run.checkpoints_dir,
                batching=used,
                device=self.device,
                compute_dtype=self.base.key.compute_dtype,
                has_val=self.data.val is not None,
                world_size=self.world_size,
                rows_per_batch=rows,
                gradient_checkpointing=plan.gradient_checkpointing,
            )
        # Padding-free: rows laid end to end, position ids restarting per row (TRL only allows
        # that with packing, so the collator is ours; TRL's dataset preparation has already
        # truncated rows to max_length). See collate.py for the two layouts.
        collator: Any = None
        if used == "padding_free":
            pad = self.base.tokenizer.pad_token_id
            if collate.is_varlen(self.batching["attn_implementation"]):
                collator = collate.VarlenCollator(pad_token_id=pad)
                self.batching["layout"] = "one sequence per batch (varlen attention)"
            else:
                collator = collate.BinnedPaddingFreeCollator(pad_token_id=pad, capacity=train.max_length)
                self.batching["layout"] = f"rows end to end in bins of up to {train.max_length} tokens per batch row"
        elif self.by_tokens:
            collator = collate.Ungrouped(DataCollatorForLanguageModeling(pad_token_id=self.base.tokenizer.pad_token_id))
        self.progress = ProgressCallback(self.sink, self.spec.name)
        callbacks: list[Any] = [self.progress]
        if train.early_stopping_patience and self.data.val is not None:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=train.early_stopping_patience))
        with quiet():
            self.trainer = SFTTrainer(
                model=self.model,
                args=args,
                train_dataset=self.data.train,
                eval_dataset=self.data.val,
                processing_class=self.base.tokenizer,
                data_collator=collator,
                callbacks=callbacks,
            )
        from transformers.trainer_callback import PrinterCallback

        self.trainer.remove_callback(PrinterCallback)  # it prints raw log dicts; our sink reports progress
        self.token_batches: Any = None
        if self.by_tokens:
            from adapterctl.train.token_batches import TokenBatches

            assert budget is not None  # by_tokens implies a budget
            self.token_batches = TokenBatches(self.trainer.train_dataset, budget, train.seed)
            self.trainer.train_dataset = self.token_batches
        self._adapter_dtype()

    def _adapter_dtype(self) -> None:
        """TRL casts a quantised base's adapter to bf16 (the QLoRA paper's choice on GPUs).
        Where matmuls run in fp32 (CPUs), bf16 adapter weights only lose precision: keep fp32."""
        import torch

        if self.base.key.compute_dtype != "float32":
            return
        for param in self.model.parameters():
            if param.requires_grad and param.dtype != torch.float32:
                param.data = param.data.to(torch.float32)

    # ── train ────────────────────────────────────────────────────────────────
    def train(self) -> None:
        checkpoint = self.run.last_checkpoint() if self.resume else None
        baseline = self.run.record.get("baseline_val_loss")
        with quiet():
            if checkpoint is None and self.data.val is not None and baseline is None:
                # Val loss before any training: the reference the card's drop is measured from.
                baseline = self._evaluate()
                if self.rank == 0:
                    self.run.update(baseline_val_loss=baseline)
            self.progress.baseline = baseline
            self.resumed_from = int(checkpoint.name.split("-")[-1]) if checkpoint else None
            started = time.monotonic()
            memory.reset_peak(self.device)
            try:
                self.trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            finally:
                self.progress.close()
            self.train_seconds = time.monotonic() - started
            self.final_val_loss = self._final_val_loss()
        self.baseline = baseline

    def _final_val_loss(self) -> float | None:
        """Val loss of the weights that will be saved (the best ones when early stopping loaded them)."""
        if self.data.val is None:
            return None
        state = self.trainer.state
        if self.trainer.args.load_best_model_at_end and state.best_metric is not None:
            return float(state.best_metric)
        evals = [e for e in state.log_history if "eval_loss" in e]
        if evals and evals[-1].get("step") == state.global_step:
            return float(evals[-1]["eval_loss"])
        return self._evaluate()

    def _evaluate(self) -> float:
        """Val loss now. Trainer reports none when no val row keeps an answer token after
        truncation to max_length (every label masked): say so instead of a KeyError."""
        metrics = self.trainer.evaluate()
        if "eval_loss" not in metrics:
            raise DataError(
                f"adapters.{self.spec.name}.train.max_length = {self.spec.train.max_length}: no val row keeps an "
                "answer token after truncation, so there is no val loss; raise max_length"
            )
        return float(metrics["eval_loss"])

    # ── save ─────────────────────────────────────────────────────────────────
    def save(self) -> Training | None:
        """Write the adapter folder, the loss curve and summary.json (rank 0); returns the summary."""
        import json
        import shutil

        from adapterctl.core.project import atomic_write
        from adapterctl.train import curve

        spec, base = self.spec, self.job.base_section()
        out = self.run.adapter_dir
        if self.world_size > 1:
            # Every rank takes part: FSDP gathers the sharded adapter; rank 0 writes it.
            with quiet():
                self.trainer.save_model(str(self.run.dir / "gathered"))
            if self.rank != 0:
                return None
            shutil.rmtree(out, ignore_errors=True)
            save.finish_gathered(
                self.run.dir / "gathered",
                out,
                save_dtype=spec.train.save_dtype,
                base_model=base.model,
                base_revision=base.revision,
            )
        else:
            shutil.rmtree(out, ignore_errors=True)
            with quiet():
                save.save_adapter(
                    self.model,
                    out,
                    save_dtype=spec.train.save_dtype,
                    base_model=base.model,
                    base_revision=base.revision,
                    init_dir=self.init_dir,
                )
        points = curve.history(self.trainer.state.log_history, self.baseline)
        curve.plot(points, self.run.curve_path, f"{spec.name}  (run {self.run.id})")
        text = json.dumps(self._summary(points), indent=2, sort_keys=True) + "\n"
        # Checked before the run says "trained": a bad record must not be what every --resume registers.
        summary = training_record(json.loads(text), self.run.summary_path)
        atomic_write(self.run.summary_path, text)
        self.run.update(status="trained")
        return summary

    def _summary(self, points: list[dict[str, Any]]) -> dict[str, Any]:
        from adapterctl.train import curve

        state, train = self.trainer.state, self.spec.train
        first = self.baseline
        evals = [p["val_loss"] for p in points if "val_loss" in p and p["step"] > 0]  # after training began
        final = self.final_val_loss
        tokens_per_epoch = self.token_batches.tokens() if self.token_batches else _tokens(self.trainer.train_dataset)
        batches = self.token_batches.summary() if self.token_batches else None
        rows_per_step = batches["mean_rows_per_batch"] if batches else train.batch_size
        tokens = int(tokens_per_epoch * (state.epoch or 0))
        # After a resume only the steps run in this call took train_seconds; periodic val-loss
        # evaluation is part of that time, as it is part of what a user waits for.
        steps_run = state.global_step - (self.resumed_from or 0)
        rate_tokens = tokens * steps_run / state.global_step if state.global_step else 0
        max_steps = state.max_steps
        return {
            "run_id": self.run.id,
            "steps": state.global_step,
            "planned_steps": max_steps,
            "epochs": round(float(state.epoch or 0), 4),
            "early_stopped": bool(train.early_stopping_patience and state.global_step < max_steps),
            "effective_batch": round(rows_per_step * train.grad_accum * self.world_size, 2),
            "token_batches": batches,
            "world_size": self.world_size,
            "resumed_from_step": self.resumed_from,
            "data": self.data.summary(),
            "val_loss": {
                "first": first,
                "best": min(evals + ([final] if final is not None else [])) if evals or final else None,
                "final": final,
                "drop": round(1 - final / first, 4) if first and final is not None else None,
            },
            "train_loss": next((p["loss"] for p in reversed(points) if "loss" in p), None),
            "tokens": tokens,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_second": round(rate_tokens / self.train_seconds, 1) if self.train_seconds else None,
            "base": {k: v for k, v in self.base.info.to_dict().items() if k != "quantization"},
            "quantization": self.base.info.quantization,
            "batching": self.batching,
            "completion_only_loss": train.completion_only_loss,
            "gradient_checkpointing": self.plan.gradient_checkpointing,
            "attention": self.attention,
            "precision": self.base.precision,
            "liger_kernel": self.liger,
            "memory": {**self.plan.record(), "peak": memory.peak(self.device)},
            "save_dtype": train.save_dtype,
            "init_lora_weights": self.spec.lora.init_lora_weights,
            "launcher": self.options.launcher.model_dump(),
            "loss_curve": self.run.curve_path.name,
            "history": curve.compact(points),
            "notices": [r["notice"] for r in (self.base.info.quantization, self.batching) if "notice" in r]
            + self.plan.notices,
        }

    # ── cleanup ──────────────────────────────────────────────────────────────
    def cleanup(self) -> None:
        """Drop the trainer and take the LoRA layers out, leaving the base as it was loaded."""
        if self.trainer is not None:
            self.trainer.accelerator.free_memory()
            self.trainer = None
        if self.model is not None:
            with quiet():
                base = lora.detach(self.model)
                if getattr(self, "_attn_before", None) and base.config._attn_implementation != self._attn_before:
                    attention.use(base, self._attn_before)  # the cached base goes back as it was loaded
                if getattr(base, "is_gradient_checkpointing", False):
                    base.gradient_checkpointing_disable()
                if getattr(self, "plan", None) is not None and self.plan.gradient_checkpointing:
                    base.disable_input_require_grads()
            if self.bases.loaded is not None:
                self.bases.loaded.model = base
            self.model = None
        if getattr(self, "_threads", None):
            import torch

            torch.set_num_threads(self._threads)
            self._threads = None
        gc.collect()
        _empty_cuda_cache()


def _tokens(dataset) -> int:
    """Real (non-pad) tokens in one pass over a prepared dataset."""
    if dataset is None or "input_ids" not in dataset.column_names:
        return 0
    return int(sum(len(ids) for ids in dataset["input_ids"]))


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
