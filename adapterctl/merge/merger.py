"""`adapterctl merge`: one version baked into its base, verified, written all or nothing."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from adapterctl import __version__, manifest, versions
from adapterctl.core import faults, ui
from adapterctl.core.errors import CheckFailed, StorageError, UsageError
from adapterctl.core.project import Project
from adapterctl.merge import output, streaming
from adapterctl.store import base_files

DTYPES = ("float32", "float16", "bfloat16")
INTO = ("full", "dequantized")


@dataclass
class MergeResult:
    ref: str
    name: str
    id: str
    out: Path
    base: str
    revision: str | None
    base_dir: Path
    into: str  # full | dequantized
    quantization: str  # what the adapter was trained on: nf4 | fp4 | int8 | none | unknown
    dtype: str
    variant: str
    shards: int
    tensors: int
    merged: int
    replaced: int
    dequantized: int
    files: list[str]
    verification: dict[str, Any] | None
    seconds: float


def merge_version(
    project: Project,
    ref: str,
    out: Path,
    *,
    dtype: str | None = None,
    verify: bool = True,
    into: str = "full",
    progress: bool = True,
) -> MergeResult:
    """Merge version REF into its base as a HF model folder at `out`; see the package docstring."""
    started = time.perf_counter()
    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    if into not in INTO:
        raise UsageError(f"--into {into}: use full or dequantized")
    out = Path(out).expanduser().resolve()
    output.check_destination(out)
    version = versions.resolve(project, ref, verify=True)
    base = _card_base(project, version)
    base_dir = base_files.locate_base(project, base.model, base.revision)
    if base_dir is not None:
        versions.card_base(project, version).admit(version)  # the same base as trained on; sound
    if base_dir is None:
        raise StorageError(
            f"base {base.model}: {base_files.why_missing(project, base.model)}; merging needs its weights: "
            "pull it or download it into the Hugging Face cache, then merge again"
        )
    trained_on = version.card.training.trained_quantization()
    checkpoint, plan, config = streaming.prepare(base_dir, version.path)
    rounding = _rounding(into, trained_on, version, base_dir, checkpoint)
    if into == "full" and trained_on in ("nf4", "fp4", "int8"):
        ui.info(
            f"{version.ref} was trained on a {trained_on} base: merging into the full-precision base "
            "(--into dequantized merges into the weights it saw in training)"
        )
    out_dtype = streaming.output_dtype(checkpoint, config, dtype)
    with output.staging(out) as tmp:
        with _shard_progress(len(checkpoint.shards), progress) as on_shard:
            stats = streaming.merge_checkpoint(
                checkpoint, plan, version.path, tmp, dtype=dtype, dequantize=rounding, on_shard=on_shard
            )
        output.copy_model_files(base_dir, tmp, out_dtype)
        check = _verify(project, version, base, tmp, out_dtype, into, trained_on) if verify else None
        info: dict[str, Any] = {
            "name": version.name,
            "id": version.id,
            "base": base.model,
            "revision": base.revision,
            "base_hash": version.card.base.hash,
            "into": into,
            "into_text": _into_text(into, trained_on),
            "dtype": out_dtype,
            "variant": plan.variant,
            "shards": stats.shards,
            "verification": asdict(check) if check else None,
            "adapterctl": __version__,
        }
        if check is not None and not check.passed:
            raise CheckFailed(
                f"verification failed for {version.ref}: max |Δlogit| {check.max_abs_diff:.3g} "
                f"(tolerance {check.tolerance:.3g}), top-1 agreement {check.top1_agreement:.1%} "
                f"(needs {check.min_agreement:.0%}); nothing was written to {out}"
            )
        output.write_card(tmp, info)
        files = output.output_files(tmp)
        output.publish(tmp, out)
    return MergeResult(
        ref=version.ref,
        name=version.name,
        id=version.id,
        out=out,
        base=base.model,
        revision=base.revision,
        base_dir=base_dir,
        into=into,
        quantization=trained_on,
        dtype=out_dtype,
        variant=plan.variant,
        shards=stats.shards,
        tensors=stats.tensors,
        merged=stats.merged,
        replaced=stats.replaced,
        dequantized=stats.dequantized,
        files=files,
        verification=info["verification"],
        seconds=round(time.perf_counter() - started, 2),
    )


def _card_base(project: Project, version: versions.Version) -> manifest.BaseSection:
    """The base the version was trained on, as its card records it (the manifest's otherwise)."""
    current = manifest.load(project.manifest_path).base
    recorded = version.card.base.to_dict()
    return current.model_copy(update={k: recorded[k] for k in ("model", "revision") if recorded.get(k)})


def _into_text(into: str, trained_on: str) -> str:
    if into == "dequantized":
        return f"dequant(quant(W)) with {trained_on}, the weights the adapter saw in training"
    note = f" (the adapter was trained on a {trained_on} base)" if trained_on in ("nf4", "fp4", "int8") else ""
    return f"the full-precision base weights{note}"


def _rounding(
    into: str, trained_on: str, version: versions.Version, base_dir: Path, checkpoint
) -> tuple[set[str], Any] | None:
    if into == "full":
        return None
    if trained_on in ("none", "unknown"):
        detail = "on a full-precision base" if trained_on == "none" else "on a base its card does not record"
        raise UsageError(f"--into dequantized: {version.ref} was trained {detail}; merge with --into full")
    from adapterctl.merge import quantized

    training = version.card.training
    assert training.quantization is not None  # trained_on came from it and is neither none nor unknown
    weight_dtype = (training.base.dtype if training.base else None) or "float32"
    return quantized.rounding(base_dir, checkpoint, training.quantization, weight_dtype)


def _verify(
    project: Project,
    version: versions.Version,
    base: manifest.BaseSection,
    folder: Path,
    dtype: str,
    into: str,
    trained_on: str,
):
    from adapterctl.merge import verify as checks

    ui.info(f"verifying: {version.ref} on its base vs the merged weights ...")
    spec = _spec_or_none(project, version.name)
    texts = checks.eval_prompts(project.root, spec.eval_data if spec else None, spec.template if spec else None)
    quant = trained_on if into == "dequantized" else "none"
    model, tokenizer, what = _reference(project, version, base, quant)
    reference = checks.logits(model, tokenizer, texts)
    ref_dtype = str(next(model.parameters()).dtype).removeprefix("torch.") if quant == "none" else "float32"
    device = next(model.parameters()).device
    del model
    checks.release()
    merged = _load_merged(folder, ref_dtype, device)
    # A 4-bit reference runs bitsandbytes' kernels, which round on their own: judge it like a 16-bit one.
    judged = _worst(dtype, ref_dtype, "bfloat16" if quant != "none" else "float32")
    result = checks.compare(reference, checks.logits(merged, tokenizer, texts), judged, what)
    del merged
    checks.release()
    return result


def _worst(*dtypes: str) -> str:
    return next((d for d in ("bfloat16", "float16") if d in dtypes), "float32")


def _spec_or_none(project: Project, name: str) -> manifest.AdapterSpec | None:
    """The manifest's spec of NAME, None when the manifest no longer declares it (imported or
    removed since: verified on built-in prompts). A broken manifest is an error, not None."""
    m = manifest.load(project.manifest_path)
    return m.adapter(name) if name in m.adapter_names else None


def _reference(project: Project, version: versions.Version, base: manifest.BaseSection, quant: str):
    """The version on its base as it runs unmerged: full precision, or quantised as trained."""
    from adapterctl import modeling
    from adapterctl.runtime.quiet import quiet

    record = version.card.training.quantization
    double_quant = record is None or record.double_quant is not False  # the default when unrecorded
    train = manifest.TrainSpec.model_validate(
        {"quantization": quant, "double_quant": double_quant, "compute_dtype": "float32"}
    )
    loaded = modeling.load_base(project, base, train, for_training=False)
    with quiet():
        from peft import PeftModel

        model = PeftModel.from_pretrained(loaded.model, str(version.path), is_trainable=False).eval()
    what = "the adapter on the full-precision base" if quant == "none" else f"the adapter on the {quant} base"
    return model, loaded.tokenizer, what


def _load_merged(folder: Path, dtype: str, device):
    import torch

    from adapterctl.runtime.quiet import quiet

    with quiet():
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=getattr(torch, dtype))
    return model.to(device).eval()


class _shard_progress:
    """A rich bar over shards on a terminal; nothing otherwise."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled and ui.interactive()
        self.bar: Any = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("merging"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("shards"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=ui.err,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        return self.update

    def update(self, done: int, total: int, name: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, description=name)
        faults.checkpoint("merge-shard")  # crash tests stop or kill the merge here

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
