"""What a merge will change, decided from the adapter's config and the safetensors headers
of both sides, before any tensor is read or any output is written.

The math is PEFT's (tuners/lora/layer.py, variants.py), so the merged weights equal
`merge_and_unload`'s:

    scaling = alpha / r                  (rsLoRA: alpha / sqrt(r)); alpha from alpha_pattern
    linear:     W' = W + (B @ A) * scaling             (transposed for fan_in_fan_out layers)
    embedding:  W' = W + (B @ A).T * scaling
    DoRA:       W' = m / ||W + ΔW||_row * (W + ΔW)     (norm over each output row)
    lora_bias:  b' = b + b_B * scaling
    modules_to_save: the adapter's full tensor replaces the base's

Anything else (conv LoRA, other LoRA variants, tied embeddings the adapter would untie)
is refused by name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.store import weights
from adapterctl.store.weights import TensorInfo

PREFIX = "base_model.model."
# adapter_config.json keys that switch on a LoRA variant whose merge is not plain LoRA/DoRA.
UNSUPPORTED_KEYS = (
    "use_bdlora",
    "alora_invocation_tokens",
    "arrow_config",
    "kasa_config",
    "monteclora_config",
    "velora_config",
    "mica_config",
    "layer_replication",
    "target_parameters",
    "trainable_token_indices",
    "use_qalora",
)


@dataclass(frozen=True)
class Delta:
    """One adapted module: where its LoRA tensors are and how they combine."""

    module: str  # model.layers.0.self_attn.q_proj
    kind: str  # "linear" | "embedding"
    lora_a: str  # adapter tensor names
    lora_b: str
    scaling: float
    fan_in_fan_out: bool = False
    magnitude: str | None = None  # DoRA's magnitude vector
    lora_bias: str | None = None  # lora_B.bias, added to the base bias


@dataclass
class MergePlan:
    weights: dict[str, Delta] = field(default_factory=dict)  # base tensor name → delta on it
    biases: dict[str, Delta] = field(default_factory=dict)  # base bias tensor → delta with a lora bias
    replaced: dict[str, str] = field(default_factory=dict)  # base tensor → adapter tensor (modules_to_save)
    variant: str = "LoRA"  # LoRA | rsLoRA | DoRA | rsLoRA+DoRA, for the card

    @property
    def touched(self) -> set[str]:
        return set(self.weights) | set(self.biases) | set(self.replaced)


def pattern_key(patterns: list[str], module: str) -> str | None:
    """The alpha/rank_pattern key that names `module`, matched the way PEFT matches it."""
    for key in patterns:
        if re.match(rf"(.*\.)?({key})$", module):
            return key
    return None


def make_plan(
    config: dict[str, Any],
    adapter: dict[str, TensorInfo],
    base: dict[str, TensorInfo],
    *,
    tied_embeddings: bool,
    where: Path,
) -> MergePlan:
    """The plan, or UsageError naming every module or setting that cannot be merged."""
    problems = _config_problems(config)
    plan = MergePlan(variant=_variant(config))
    modules: dict[str, dict[str, str]] = {}
    for name, info in adapter.items():
        module, part = _split(name)
        if part == "full":
            target = module
            if target not in base:
                problems.append(f"{name}: modules_to_save tensor with no {target} in the base checkpoint")
            elif info.shape != base[target].shape:
                problems.append(f"{name}: shape {list(info.shape)} differs from the base's {list(base[target].shape)}")
            else:
                plan.replaced[target] = name
            continue
        if part is None:
            problems.append(f"{name}: unknown adapter tensor (not LoRA A/B, magnitude or modules_to_save)")
            continue
        modules.setdefault(module, {})[part] = name
    for module, parts in sorted(modules.items()):
        _plan_module(module, parts, config, adapter, base, plan, problems)
    if tied_embeddings:
        tied = [t for t in plan.touched if t.endswith(("embed_tokens.weight", "lm_head.weight", "wte.weight"))]
        problems += [
            f"{t}: the base ties input and output embeddings; changing one would untie them "
            "(merge refuses adapters on tied embeddings)"
            for t in sorted(tied)
        ]
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:4])})" if len(problems) > 1 else ""
        raise UsageError(f"{where}: cannot merge: {problems[0]}{more}")
    return plan


def _config_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type {config.get('peft_type')}: only LoRA adapters merge")
    for key in UNSUPPORTED_KEYS:
        if config.get(key):
            problems.append(f"adapter_config.json sets {key}: that LoRA variant has no streaming merge")
    return problems


def _variant(config: dict[str, Any]) -> str:
    parts = ["rsLoRA" if config.get("use_rslora") else "LoRA"]
    if config.get("use_dora"):
        parts = ["DoRA"] if parts == ["LoRA"] else [*parts, "DoRA"]
    return "+".join(parts)


def _plan_module(
    module: str,
    parts: dict[str, str],
    config: dict[str, Any],
    adapter: dict[str, TensorInfo],
    base: dict[str, TensorInfo],
    plan: MergePlan,
    problems: list[str],
) -> None:
    kind = "embedding" if "lora_embedding_A" in parts else "linear"
    a_key, b_key = ("lora_embedding_A", "lora_embedding_B") if kind == "embedding" else ("lora_A", "lora_B")
    if a_key not in parts or b_key not in parts:
        problems.append(f"{module}: has {sorted(parts)} but not both {a_key} and {b_key}")
        return
    target = f"{module}.weight"
    if target not in base:
        problems.append(f"{module}: the base checkpoint has no tensor {target}")
        return
    a, b, w = adapter[parts[a_key]], adapter[parts[b_key]], base[target]
    if len(a.shape) != 2 or len(b.shape) != 2 or len(w.shape) != 2:
        problems.append(
            f"{module}: a {len(w.shape)}-d weight with {len(a.shape)}-d LoRA tensors "
            "(convolution LoRA is not supported by merge)"
        )
        return
    fan = bool(config.get("fan_in_fan_out")) and kind == "linear"
    rows, cols = (w.shape[1], w.shape[0]) if fan else w.shape  # (out, in) of the layer
    if kind == "embedding":
        rows, cols = w.shape[1], w.shape[0]  # B @ A is (dim, num_embeddings)
    if (b.shape[0], a.shape[1]) != (rows, cols) or b.shape[1] != a.shape[0]:
        problems.append(
            f"{module}: LoRA shapes A{list(a.shape)} B{list(b.shape)} do not fit the base's {list(w.shape)}"
        )
        return
    r = a.shape[0]
    key = pattern_key(list(config.get("alpha_pattern") or {}), module)
    alpha = float((config.get("alpha_pattern") or {}).get(key, config.get("lora_alpha", 8)))
    scaling = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    magnitude = parts.get("magnitude")
    if config.get("use_dora") and kind == "embedding":
        problems.append(f"{module}: DoRA on an embedding is not supported by merge")
        return
    if config.get("use_dora") and magnitude is None:
        problems.append(f"{module}: use_dora is set but the adapter has no lora_magnitude_vector for it")
        return
    bias = parts.get("lora_bias")
    delta = Delta(module, kind, parts[a_key], parts[b_key], scaling, fan, magnitude, bias)
    plan.weights[target] = delta
    if bias is not None:
        if f"{module}.bias" not in base:
            problems.append(f"{module}: the adapter has a LoRA bias but the base layer has no bias")
            return
        plan.biases[f"{module}.bias"] = delta


def _split(name: str) -> tuple[str, str | None]:
    """'base_model.model.X.lora_A.weight' → ('X', 'lora_A'); full tensors → ('X.weight', 'full')."""
    core = name.removeprefix(PREFIX)
    if core.endswith(".lora_B.bias"):
        return core.removesuffix(".lora_B.bias"), "lora_bias"
    module, kind = weights._split_peft_name(name)
    if kind == "full":
        # save_embedding_layers=True stores the whole base layer as X.base_layer.weight: it replaces X.weight.
        return core.replace(".base_layer.", "."), "full"
    if kind is None and ".lora_" not in core and core.endswith(".bias"):
        return core, "full"  # a modules_to_save module's bias
    return module, kind
