"""Verification: the merged folder must compute what the adapter on its base computes.

Both run on the same few prompts (the adapter's eval rows through its template, else
fixed text), one model at a time so memory holds only one. The result is the largest
|Δlogit| anywhere and how often the top-1 token agrees; tolerances scale with the largest
logit and loosen for 16-bit outputs, whose rounding alone moves logits.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError

MAX_PROMPTS = 4
MAX_TOKENS = 96
FALLBACK = [
    "Hello! How do I reset my password?",
    "Explain in one sentence what the config file controls.",
    "The quick brown fox jumps over the lazy dog. 1234567890",
]
# (relative tolerance on max |logit|, minimum top-1 agreement) by output dtype
TOLERANCE = {"float32": (1e-4, 0.99), "float16": (2e-2, 0.9), "bfloat16": (6e-2, 0.85)}


@dataclass
class Verification:
    prompts: int
    tokens: int
    max_abs_diff: float
    top1_agreement: float
    tolerance: float
    min_agreement: float
    reference: str  # what the merged model was compared with
    passed: bool


def eval_prompts(root: Path, eval_data: str | None, template: str | None) -> list[str]:
    """Up to MAX_PROMPTS texts (prompt and answer) from the eval set, else FALLBACK."""
    if not eval_data or not (root / eval_data).is_file() or not eval_data.endswith((".jsonl", ".ndjson")):
        return FALLBACK
    from adapterctl.data.templates import Template

    tmpl = Template.load(root, template) if template and (root / template).is_file() else None
    texts: list[str] = []
    with (root / eval_data).open(encoding="utf-8") as f:
        for line in f:
            if len(texts) == MAX_PROMPTS:
                break
            try:
                row = json.loads(line)
                prompt = tmpl.render(row, eval_data) if tmpl else row.get("prompt")
            except (ValueError, DataError):
                continue
            answer = row.get("output") or row.get("completion") or ""
            if isinstance(prompt, str) and prompt:
                texts.append(prompt + (answer if isinstance(answer, str) else ""))
    return texts or FALLBACK


def logits(model: Any, tokenizer: Any, texts: list[str]) -> list[Any]:
    """Per-prompt logits (float32, CPU), one prompt at a time: no padding to get wrong."""
    import torch

    out = []
    device = next(model.parameters()).device
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=MAX_TOKENS)["input_ids"].to(device)
            out.append(model(input_ids=ids).logits[0].float().cpu())
    return out


def compare(reference: list[Any], merged: list[Any], dtype: str, what: str) -> Verification:
    import torch

    rtol, min_agree = TOLERANCE.get(dtype, TOLERANCE["float32"])
    scale = max(float(r.abs().max()) for r in reference)
    worst = max(float((r - m).abs().max()) for r, m in zip(reference, merged, strict=True))
    agree = torch.cat([(r.argmax(-1) == m.argmax(-1)).float() for r, m in zip(reference, merged, strict=True)])
    tolerance = rtol * max(scale, 1.0)
    share = float(agree.mean())
    return Verification(
        len(reference),
        int(agree.numel()),
        worst,
        share,
        tolerance,
        min_agree,
        what,
        worst <= tolerance and share >= min_agree,
    )


def release() -> None:
    """Return freed model memory now (callers drop their references first): one model at a time."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass
