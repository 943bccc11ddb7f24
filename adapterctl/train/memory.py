"""How many tokens a step can hold, whether that needs gradient checkpointing, and the peak
memory a run used.

On a GPU the token budget (`train.max_tokens_per_batch`) defaults to what free memory
holds, from an estimate of the activations each token keeps for the backward pass. When a
budget (chosen or given) would not fit without gradient checkpointing, checkpointing is
switched on, with a notice in the card. On the CPU nothing is decided here: the spec's
batch_size rows and its gradient_checkpointing setting stand, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADROOM = 0.85  # of free memory: the allocator fragments, kernels need workspace
MAX_DEFAULT_TOKENS = 16384  # beyond this a step gets longer without getting faster
DEFAULT_BATCH_SIZE = 8  # TrainSpec.batch_size's default: a user who changed it batches by rows


@dataclass
class Plan:
    max_tokens_per_batch: int | None  # None: batches of batch_size rows
    gradient_checkpointing: bool
    estimate: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "max_tokens_per_batch": self.max_tokens_per_batch,
            "gradient_checkpointing": self.gradient_checkpointing,
            **self.estimate,
        }


def activation_bytes_per_token(config, dtype_bytes: int, checkpointing: bool) -> int:
    """Bytes a token keeps alive between forward and backward in a LoRA step (frozen base).

    Per decoder layer and token, without checkpointing: the norm outputs, q/k/v and the
    rotary copies, the attention output, the LoRA inputs of every adapted linear and the MLP's
    gate/up/act/product, about 16 hidden + 6 intermediate values, plus two float32 norm
    inputs. With checkpointing only each layer's input stays, plus one layer recomputed.
    The loss adds nothing per vocabulary entry: TRL's fused LM head scores completion
    tokens in chunks and never holds the full logits.
    """
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = int(text.hidden_size)
    inter = int(getattr(text, "intermediate_size", 4 * hidden) or 4 * hidden)
    layers = int(text.num_hidden_layers)
    per_layer = dtype_bytes * (16 * hidden + 6 * inter) + 4 * 2 * hidden
    if checkpointing:
        return layers * dtype_bytes * hidden + per_layer
    return layers * per_layer


def plan(train, model, device: str, compute_dtype: str, *, free_bytes: int | None = None, world_size: int = 1) -> Plan:
    """The token budget and checkpointing for `train` on `device` (see the module docstring).

    With several processes the budget is not chosen from free memory: ranks could see different
    free memory, choose different budgets and so run different numbers of steps (DDP would hang).
    """
    requested = train.max_tokens_per_batch
    if device != "cuda":
        return Plan(requested, train.gradient_checkpointing)
    if free_bytes is None:
        import torch

        free_bytes = torch.cuda.mem_get_info()[0]
    dtype_bytes = 4 if compute_dtype == "float32" else 2
    usable = int(free_bytes * HEADROOM)
    full = activation_bytes_per_token(model.config, dtype_bytes, checkpointing=False)
    lean = activation_bytes_per_token(model.config, dtype_bytes, checkpointing=True)
    estimate = {"free_gb": round(free_bytes / 2**30, 1), "activation_mb_per_token": round(full / 2**20, 3)}
    notices: list[str] = []
    tokens = requested
    checkpointing = train.gradient_checkpointing
    if tokens is None and train.batch_size == DEFAULT_BATCH_SIZE and world_size == 1:
        # Without checkpointing if one max_length row fits so; else with it, and a larger budget.
        per_token = lean if checkpointing or usable // full < train.max_length else full
        tokens = int(min(MAX_DEFAULT_TOKENS, max(train.max_length, usable // per_token)))
        notices.append(
            f"train.max_tokens_per_batch = {tokens} chosen from {free_bytes / 2**30:.0f} GB of free "
            "GPU memory (set it, or batch_size for rows, to choose)"
        )
    need = (tokens if tokens is not None else train.batch_size * train.max_length) * full
    if not checkpointing and need > usable:
        checkpointing = True
        notices.append(
            f"gradient checkpointing switched on: {need / 2**30:.0f} GB of activations would not "
            f"fit in {usable / 2**30:.0f} GB of free GPU memory"
        )
    return Plan(tokens, checkpointing, estimate, notices)


def reset_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def peak(device: str) -> dict[str, Any]:
    """The card's peak memory: GPU memory allocated by torch, or the process's resident set on a CPU."""
    if device == "cuda":
        import torch

        return {
            "device": "cuda",
            "peak_allocated_gb": round(torch.cuda.max_memory_allocated() / 2**30, 3),
            "peak_reserved_gb": round(torch.cuda.max_memory_reserved() / 2**30, 3),
        }
    import resource
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return {"device": "cpu", "peak_rss_gb": round(rss * scale / 2**30, 2)}
