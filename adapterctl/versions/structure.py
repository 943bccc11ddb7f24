"""The structural check at the door: a PEFT LoRA folder whose config matches its tensors, whose
tensors fit the base, and whose every value is finite.

PEFT builds the adapter's modules from the config and then copies the tensors in; a config
that disagrees with the tensors (r = 20000 over rank-8 tensors) fails half-way through a
load, and NaN or infinite weights load fine and answer garbage. Both are refused here, before
anything is registered or loaded, from the safetensors headers and one streamed pass over
the bytes (a few MiB at a time, never the whole file). Nothing here imports torch.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from adapterctl.core.errors import IntegrityError
from adapterctl.store import weights
from adapterctl.store.weights import TensorInfo

_CHUNK = 4 << 20
# Bit masks that pick the exponent of each float format: all ones means NaN or infinity.
# E4M3 ("fn") has no infinities; its only NaN is S.1111.111 (mask 0x7F).
_NONFINITE_BITS = {
    "F64": ("<u8", 0x7FF0000000000000),
    "F32": ("<u4", 0x7F800000),
    "F16": ("<u2", 0x7C00),
    "BF16": ("<u2", 0x7F80),
    "F8_E5M2": ("u1", 0x7C),
    "F8_E4M3": ("u1", 0x7F),
}
_LORA = ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B")


def check_folder(folder: Path, base: dict[str, TensorInfo] | None, *, label: str | None = None) -> None:
    """Refuse (IntegrityError) a PEFT folder that is structurally broken; `base` holds the base
    model's tensor shapes (None when the base's weights are not here to compare against)."""
    problem = folder_problem(folder, base)
    if problem:
        raise IntegrityError(
            f"{label or folder}: {problem}; a structurally broken adapter is never registered or loaded "
            "(--force does not change that)"
        )


def folder_problem(folder: Path, base: dict[str, TensorInfo] | None) -> str | None:
    """The first thing structurally wrong with the folder, as `FILE: what`; None when sound."""
    config = weights.read_config(folder)
    tensors = weights.read_header(folder / weights.WEIGHTS)
    problems = []
    if base is not None:
        problems += [f"{weights.WEIGHTS}: {p}" for p in weights.shape_problems(tensors, base)]
        problems += target_problems(config, base)
    problems += config_problems(config, tensors)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return problems[0] + more
    return nonfinite_problem(folder / weights.WEIGHTS, tensors)


# ── the config against the tensors ────────────────────────────────────────────


def config_problems(config: dict[str, Any], tensors: dict[str, TensorInfo]) -> list[str]:
    """r and alpha are sane, every LoRA pair has the rank the config gives it, and every adapted
    module is one the config targets."""
    cfg = weights.CONFIG
    problems = []
    r = config.get("r", 8)
    if not _positive_int(r):
        problems.append(f"{cfg}: r = {r!r}: must be a positive whole number")
    alpha = config.get("lora_alpha", 8)
    if not _positive_finite(alpha):
        problems.append(f"{cfg}: lora_alpha = {alpha!r}: must be a finite number above 0")
    for key in ("rank_pattern", "alpha_pattern"):
        pattern = config.get(key) or {}
        if not isinstance(pattern, dict):
            problems.append(f"{cfg}: {key} must be an object")
            continue
        check = _positive_int if key == "rank_pattern" else _positive_finite
        problems += [f"{cfg}: {key}[{k!r}] = {v!r}: must be above 0" for k, v in pattern.items() if not check(v)]
    if problems:
        return problems
    modules = _lora_modules(tensors)
    if not modules:
        return [f"{weights.WEIGHTS}: holds no LoRA tensors (lora_A/lora_B)"]
    for module, parts in sorted(modules.items()):
        expected = _rank_for(module, config)
        pair = ("lora_embedding_A", "lora_embedding_B") if "lora_embedding_A" in parts else ("lora_A", "lora_B")
        missing = [p for p in pair if p not in parts]
        if missing:
            problems.append(f"{weights.WEIGHTS}: {module} has no {missing[0]} tensor (a LoRA pair needs both)")
            continue
        a, b = (parts[p] for p in pair)
        if len(a[1].shape) != 2 or len(b[1].shape) != 2:
            problems.append(f"{weights.WEIGHTS}: {a[0]} and {b[0]} must be matrices")
            continue
        for name, rank in ((a[0], a[1].shape[0]), (b[0], b[1].shape[1])):
            if rank != expected:
                problems.append(f"{cfg}: r = {expected} for {module}, but tensor {name} has rank {rank}")
                break
        if not _targeted(module, config.get("target_modules")):
            problems.append(
                f"{cfg}: target_modules {config.get('target_modules')!r} does not include {module}, "
                "which the tensors adapt"
            )
    return problems


def target_problems(config: dict[str, Any], base: dict[str, TensorInfo]) -> list[str]:
    """Every module the config names as a target exists in the base (PEFT refuses the load otherwise)."""
    targets = config.get("target_modules")
    if not isinstance(targets, list):
        return []  # a regex or "all-linear": matched against the base by PEFT itself
    base_modules = [name.removesuffix(".weight") for name in base if name.endswith(".weight")]
    return [
        f"{weights.CONFIG}: target module {t!r} does not exist in the base"
        for t in sorted(targets)
        if not any(_targeted(m, [t]) for m in base_modules)
    ]


def _lora_modules(tensors: dict[str, TensorInfo]) -> dict[str, dict[str, tuple[str, TensorInfo]]]:
    """module → {'lora_A': (tensor name, info), ...}"""
    out: dict[str, dict[str, tuple[str, TensorInfo]]] = {}
    for name, info in tensors.items():
        core = name.removeprefix("base_model.model.")
        for kind in _LORA:
            if f".{kind}." in f"{core}." or core.endswith(f".{kind}"):
                module = core.split(f".{kind}")[0]
                out.setdefault(module, {})[kind] = (name, info)
                break
    return out


def _rank_for(module: str, config: dict[str, Any]) -> int:
    """PEFT's rule: a rank_pattern key matches the module name or a dotted suffix of it."""
    for key, rank in (config.get("rank_pattern") or {}).items():
        try:
            if re.match(rf"(.*\.)?({key})$", module):
                return int(rank)
        except re.error:
            continue
    return int(config.get("r", 8))


def _targeted(module: str, targets: Any) -> bool:
    if not targets:
        return True  # nothing declared (target_parameters and other layouts): nothing to hold it to
    if isinstance(targets, str):
        if targets == "all-linear":
            return True
        try:
            return re.fullmatch(targets, module) is not None
        except re.error:
            return True
    return any(module == t or module.endswith(f".{t}") for t in targets)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


# ── every value finite ───────────────────────────────────────────────────────


def nonfinite_problem(path: Path, tensors: dict[str, TensorInfo]) -> str | None:
    """The first tensor holding NaN or infinite values, counted, in one streamed pass."""
    import numpy as np

    bad_tensors, first = 0, ""
    with path.open("rb") as f:
        for name in sorted(tensors, key=lambda n: tensors[n].start):
            t = tensors[name]
            if t.dtype not in _NONFINITE_BITS:
                continue  # integer and bool tensors are always finite
            dtype, mask = _NONFINITE_BITS[t.dtype]
            item = np.dtype(dtype).itemsize
            step = _CHUNK - _CHUNK % item
            f.seek(t.start)
            left, bad = t.end - t.start, 0
            while left:
                chunk = f.read(min(step, left))
                if not chunk:
                    raise IntegrityError(f"{path}: truncated inside tensor {name!r}")
                left -= len(chunk)
                bits = np.frombuffer(chunk, dtype=dtype)
                bad += int(np.count_nonzero((bits & mask) == mask))
            if bad:
                bad_tensors += 1
                if not first:
                    total = (t.end - t.start) // item
                    first = f"tensor {name} has {bad} NaN or infinite values of {total}"
    if not bad_tensors:
        return None
    more = f" ({bad_tensors} tensors have some)" if bad_tensors > 1 else ""
    return f"{weights.WEIGHTS}: {first}{more}"
