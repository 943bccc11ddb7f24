"""The shard-by-shard merge: base + adapter → a standard HF weights folder.

Each base shard is read lazily (safetensors `safe_open`), one tensor at a time: changed
tensors are recomputed in float32 and cast to the output dtype, unchanged ones are copied
byte for byte, and the output shard is closed (fsync'd) before the next base shard is
read. Peak memory is about the adapter plus the largest tensor, whatever the model's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.merge import plan as plans
from adapterctl.merge import shards as shard_io
from adapterctl.merge.plan import MergePlan
from adapterctl.store import weights

ShardDone = Callable[[int, int, str], None]  # (shards done, total, shard name)


@dataclass
class MergeStats:
    shards: int
    tensors: int  # tensors written
    merged: int  # weights a LoRA delta was added to
    replaced: int  # tensors replaced by modules_to_save copies
    dequantized: int  # weights rounded through the training quantisation first
    variant: str  # LoRA | rsLoRA | DoRA | rsLoRA+DoRA
    dtype: str  # the output's floating dtype
    bytes_written: int


def read_base_config(base_dir: Path) -> dict[str, Any]:
    path = base_dir / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{base_dir}: no config.json (not a Hugging Face model folder)") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    quant = config.get("quantization_config")
    if quant:
        method = quant.get("quant_method", "quantised") if isinstance(quant, dict) else "quantised"
        raise UsageError(
            f"{path}: the base is stored {method}-quantised; merging into it would requantise the result and "
            "lose most of the adapter (lossy); merge into the full-precision base instead"
        )
    return config


def prepare(base_dir: Path, adapter_dir: Path) -> tuple[shard_io.Checkpoint, MergePlan, dict[str, Any]]:
    """Everything checked before any output exists: the base's shards, the plan, the base config."""
    config = read_base_config(base_dir)
    checkpoint = shard_io.open_checkpoint(base_dir)
    weights.check_folder(adapter_dir)
    adapter_config = weights.read_config(adapter_dir)
    adapter_tensors = weights.read_header(adapter_dir / weights.WEIGHTS)
    tied = bool(config.get("tie_word_embeddings", True)) and "lm_head.weight" not in checkpoint.tensors
    plan = plans.make_plan(adapter_config, adapter_tensors, checkpoint.tensors, tied_embeddings=tied, where=adapter_dir)
    return checkpoint, plan, config


def output_dtype(checkpoint: shard_io.Checkpoint, config: dict[str, Any], dtype: str | None) -> str:
    if dtype:
        return dtype
    declared = config.get("dtype") or config.get("torch_dtype")
    if declared in shard_io.CODE_OF:
        return declared
    codes = {t.dtype for t in checkpoint.tensors.values() if t.dtype in shard_io.FLOAT_CODES}
    return shard_io.FLOAT_CODES[codes.pop()] if len(codes) == 1 else "float32"


def merge_checkpoint(
    checkpoint: shard_io.Checkpoint,
    plan: MergePlan,
    adapter_dir: Path,
    out_dir: Path,
    *,
    dtype: str | None,
    dequantize: tuple[set[str], Callable[[Any], Any]] | None = None,
    on_shard: ShardDone | None = None,
) -> MergeStats:
    """Write the merged shards (and index) into `out_dir`, one base shard at a time.

    `dtype` None keeps every tensor's dtype; `dequantize` is (weight names, round trip) for
    `--into dequantized`.
    """
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    lora = load_file(str(adapter_dir / weights.WEIGHTS))
    rounded, roundtrip = dequantize or (set(), None)
    stats = MergeStats(
        len(checkpoint.shards), 0, len(plan.weights), len(plan.replaced), 0, plan.variant, dtype or "", 0
    )
    weight_map: dict[str, str] = {}
    for number, shard in enumerate(checkpoint.shards, start=1):
        layout = [(name, shard_io.output_code(info, dtype), info.shape) for name, info in shard.tensors.items()]
        writer = shard_io.ShardWriter(out_dir / shard.name, layout, {"format": "pt"})
        try:
            with shard.path.open("rb") as raw:
                for (name, code, _), info in zip(layout, shard.tensors.values(), strict=True):
                    weight_map[name] = shard.name
                    if name in plan.touched or name in rounded or code != info.dtype:
                        # A mapping per tensor: pages of a shard held open would all count as resident.
                        with safe_open(str(shard.path), framework="pt") as lazy:
                            loaded = lazy.get_tensor(name)
                        tensor = _merged(name, loaded, plan, lora, rounded, roundtrip)
                        del loaded
                        writer.write_tensor(
                            name,
                            tensor.to(getattr(torch, shard_io.FLOAT_CODES.get(code, "float32")))
                            if tensor.is_floating_point()
                            else tensor,
                        )
                        stats.dequantized += name in rounded
                        del tensor
                    else:
                        writer.copy_bytes(name, raw, info)
            writer.close()
        except BaseException:  # any exit, Ctrl-C included, closes the shard file; re-raised
            writer.abort()
            raise
        stats.tensors += len(layout)
        stats.bytes_written += writer.data_bytes
        if on_shard:
            on_shard(number, len(checkpoint.shards), shard.name)
    if checkpoint.index is not None:
        index = {
            "metadata": {**(checkpoint.index.get("metadata") or {}), "total_size": stats.bytes_written},
            "weight_map": dict(sorted(weight_map.items())),
        }
        (out_dir / shard_io.INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return stats


def _merged(name: str, tensor, plan: MergePlan, lora: dict[str, Any], rounded: set[str], roundtrip):
    """The output value of base tensor `name`, computed in float32 as PEFT computes it."""
    if name in plan.replaced:  # modules_to_save, or a saved embedding layer that LoRA then adapts
        tensor = lora[plan.replaced[name]]
    if not tensor.is_floating_point():
        return tensor
    w = tensor.float()
    if name in rounded:
        w = roundtrip(w).float()
    if name in plan.weights:
        w = apply_delta(w, plan.weights[name], lora)
    if name in plan.biases:
        d = plan.biases[name]
        assert d.lora_bias is not None  # plan.py lists a bias only with its lora_B.bias
        w = w + lora[d.lora_bias].float() * d.scaling
    return w


def apply_delta(w, d: plans.Delta, lora: dict[str, Any]):
    """W + ΔW (or DoRA's rescaled version) for one module, in float32."""
    import torch

    a, b = lora[d.lora_a].float(), lora[d.lora_b].float()
    if d.kind == "embedding":
        return w + (b @ a).T * d.scaling
    delta = b @ a
    delta = (delta.T if d.fan_in_fan_out else delta) * d.scaling
    if d.magnitude is None:
        return w + delta
    # DoRA: the norm of each output row of W + ΔW, computed on the (out, in) view.
    rows = (w.T if d.fan_in_fan_out else w) + (delta.T if d.fan_in_fan_out else delta)
    norm = torch.linalg.norm(rows, dim=1).to(w.dtype)
    factor = (lora[d.magnitude].float() / norm).view(-1, 1)
    factor = factor.T if d.fan_in_fan_out else factor
    return factor * (w + delta)
