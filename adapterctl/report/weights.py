"""Per-module weight differences between two LoRA versions, without materialising ΔW.

For each adapted module ΔW = s·B·A (s = alpha/r, or alpha/√r with rsLoRA). With B (m×r)
and A (r×n) everything needed fits in r×r matrices:

    ‖ΔW‖²          = s² · sum((BᵀB) ∘ (AAᵀ))
    ⟨ΔW₁, ΔW₂⟩     = s₁s₂ · sum((B₁ᵀB₂) ∘ (A₁A₂ᵀ))
    σ(ΔW)          = s · σ(R_B · R_Aᵀ)       (B = Q_B R_B, Aᵀ = Q_A R_A)

so a 4096×4096 projection costs a few r×r products. Reported per module: both norms, the
relative change ‖ΔW_B − ΔW_A‖/‖ΔW_A‖, the cosine between the two updates, and the
effective rank of B's update (exp of the entropy of its normalised singular values).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import IntegrityError
from adapterctl.store.weights import CONFIG, WEIGHTS, read_header


@dataclass
class ModuleDiff:
    module: str
    norm_a: float | None
    norm_b: float | None
    relative_change: float | None  # ‖ΔW_B − ΔW_A‖ / ‖ΔW_A‖
    cosine: float | None
    effective_rank_b: float | None


def _scale(folder: Path) -> float:
    config = json.loads((folder / CONFIG).read_text())
    r = config.get("r", 8)
    alpha = config.get("lora_alpha", r)
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


def _tensor(path: Path, info) -> Any:
    """One tensor as float64, read straight from the file (bf16 widened by hand: numpy has none).
    numpy, not torch: `diff` and the dashboard stay light (torch alone is about 200 MB)."""
    import numpy as np

    with path.open("rb") as f:
        f.seek(info.start)
        raw = f.read(info.end - info.start)
    if info.dtype == "BF16":
        values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif info.dtype in _NUMPY_DTYPES:
        values = np.frombuffer(raw, dtype=_NUMPY_DTYPES[info.dtype])
    else:
        raise IntegrityError(f"{path}: tensor dtype {info.dtype} is not a LoRA factor dtype")
    return values.astype(np.float64).reshape(info.shape)


def _factors(folder: Path) -> dict[str, tuple]:
    """module name → (A, B) as float64 arrays."""
    path = folder / WEIGHTS
    out: dict[str, dict[str, object]] = {}
    for key, info in read_header(path).items():
        for part in ("lora_A", "lora_B"):
            marker = f".{part}."
            if marker in key:
                module = key.split(marker)[0].removeprefix("base_model.model.")
                out.setdefault(module, {})[part] = _tensor(path, info)
    return {m: (t["lora_A"], t["lora_B"]) for m, t in out.items() if "lora_A" in t and "lora_B" in t}


def _inner(s1: float, a1, b1, s2: float, a2, b2) -> float:
    return float(s1 * s2 * ((b1.T @ b2) * (a1 @ a2.T)).sum())


def _effective_rank(s: float, a, b) -> float | None:
    import numpy as np

    rb: Any = np.linalg.qr(b, mode="r")
    ra: Any = np.linalg.qr(a.T, mode="r")
    sigma = np.linalg.svd(s * rb @ ra.T, compute_uv=False)
    total = float(sigma.sum())
    if total <= 0:
        return None
    p = sigma / total
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def compare(folder_a: Path, folder_b: Path) -> list[ModuleDiff]:
    sa, sb = _scale(folder_a), _scale(folder_b)
    fa, fb = _factors(folder_a), _factors(folder_b)
    out = []
    for module in sorted(set(fa) | set(fb)):
        na = nb = rel = cos = erank = None
        if module in fa:
            a1, b1 = fa[module]
            na = math.sqrt(max(_inner(sa, a1, b1, sa, a1, b1), 0.0))
        if module in fb:
            a2, b2 = fb[module]
            nb = math.sqrt(max(_inner(sb, a2, b2, sb, a2, b2), 0.0))
            erank = _effective_rank(sb, a2, b2)
        if module in fa and module in fb:
            assert na is not None and nb is not None  # both set above
            cross = _inner(sa, a1, b1, sb, a2, b2)
            diff2 = max(na * na + nb * nb - 2 * cross, 0.0)
            rel = math.sqrt(diff2) / na if na else None
            cos = cross / (na * nb) if na and nb else None
        out.append(ModuleDiff(module, na, nb, rel, cos, erank))
    return out
