"""The metrics registry: what each metric is, how its per-row data is computed, and how any
subset of rows aggregates into one number.

Every metric is row-decomposable, so one function (`aggregate`) gives the corpus value and
every bootstrap resample: ROUGE, exact match and accuracy are means of row scores; BLEU and
chrF are sacrebleu's corpus scores of summed per-row statistics; eval loss is summed
negative log-likelihood over summed completion tokens. Text metrics run through `evaluate`
with metric modules shipped in this package (`modules/`), loaded by path: the hub, where
`evaluate.load("rouge")` looks, is not reachable from every machine.

This module imports nothing heavy at module level: the manifest validates gate names
against `NAMES` without loading evaluate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    kind: str  # "generation" | "label" | "loss" | "training"
    scale: str  # how to read it: "0-1", "0-100", "nats", "ratio"
    description: str


REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rouge1", True, "generation", "0-1", "ROUGE-1 F-measure (unigram overlap), mean over rows"),
        Metric("rouge2", True, "generation", "0-1", "ROUGE-2 F-measure (bigram overlap), mean over rows"),
        Metric("rouge_l", True, "generation", "0-1", "ROUGE-L F-measure (longest common subsequence), mean over rows"),
        Metric("bleu", True, "generation", "0-100", "sacrebleu corpus BLEU"),
        Metric("chrf", True, "generation", "0-100", "sacrebleu corpus chrF"),
        Metric("exact_match", True, "generation", "0-1", "output equals the reference (whitespace-normalised)"),
        Metric("accuracy", True, "label", "0-1", "predicted label (the output's first line) equals the row's label"),
        Metric("macro_f1", True, "label", "0-1", "F1 per label, averaged over the labels in the eval set"),
        Metric("eval_loss", False, "loss", "nats", "teacher-forced cross-entropy over completion tokens"),
        Metric("perplexity", False, "loss", "ratio", "exp(eval_loss)"),
        Metric("val_loss", False, "training", "nats", "final val loss recorded by training (no eval run needed)"),
    )
}
NAMES = tuple(REGISTRY)
GENERATION = tuple(n for n, m in REGISTRY.items() if m.kind in ("generation", "label"))
MODULES = Path(__file__).with_name("modules")


def higher_is_better(name: str) -> bool:
    return REGISTRY[name].higher_is_better


# ── per-row data ──────────────────────────────────────────────────────────────


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def predicted_label(output: str) -> str:
    """The label a generation names: its first non-empty line, without trailing punctuation."""
    for line in output.splitlines():
        if line.strip():
            return normalise(line).rstrip(".!").lower()
    return ""


def score_generations(
    outputs: Sequence[str], references: Sequence[str], labels: Sequence[str | None] | None, wanted: Sequence[str]
) -> list[dict[str, Any]]:
    """Per-row data for the generation and label metrics in `wanted`: one dict per row."""
    rows: list[dict[str, Any]] = [{} for _ in outputs]
    if set(wanted) & {"rouge1", "rouge2", "rouge_l"}:
        scores = _module("rouge_rows").compute(predictions=list(outputs), references=list(references))
        for name, key in (("rouge1", "rouge1"), ("rouge2", "rouge2"), ("rouge_l", "rougeL")):
            if name in wanted:
                for row, value in zip(rows, scores[key], strict=True):
                    row[name] = round(float(value), 6)
    for name in ("bleu", "chrf"):
        if name in wanted:
            result = _module("sacrebleu_rows", name).compute(predictions=list(outputs), references=list(references))
            for row, stats in zip(rows, result["stats"], strict=True):
                row[name] = stats
    if "exact_match" in wanted:
        for row, out, ref in zip(rows, outputs, references, strict=True):
            row["exact_match"] = int(normalise(out) == normalise(ref))
    if labels is not None and set(wanted) & {"accuracy", "macro_f1"}:
        for row, out, label in zip(rows, outputs, labels, strict=True):
            if label is not None:
                row["label"] = [normalise(str(label)).lower(), predicted_label(out)]
    return rows


_loaded: dict[tuple[str, str | None], Any] = {}


def _module(file: str, config: str | None = None):
    """An evaluate metric module shipped in modules/, loaded by path once per process."""
    key = (file, config)
    if key not in _loaded:
        import evaluate

        from adapterctl.runtime.quiet import quiet

        with quiet():
            _loaded[key] = evaluate.load(str(MODULES / f"{file}.py"), config_name=config)
    return _loaded[key]


# ── aggregation ───────────────────────────────────────────────────────────────


def aggregate(name: str, rows: Sequence[dict[str, Any]]) -> float | None:
    """The metric over `rows` (per-row dicts as stored), or None when no row carries it."""
    if name in ("eval_loss", "perplexity"):
        pairs = [r["loss"] for r in rows if "loss" in r]
        tokens = sum(p[1] for p in pairs)
        if not tokens:
            return None
        loss = sum(p[0] for p in pairs) / tokens
        return loss if name == "eval_loss" else math.exp(min(loss, 700))
    if name in ("bleu", "chrf"):
        stats = [r[name] for r in rows if name in r]
        return corpus_from_stats(name, [sum(col) for col in zip(*stats, strict=True)]) if stats else None
    if name in ("accuracy", "macro_f1"):
        pairs = [r["label"] for r in rows if "label" in r]
        if not pairs:
            return None
        return accuracy(pairs) if name == "accuracy" else macro_f1(pairs)
    values = [r[name] for r in rows if name in r]
    return sum(values) / len(values) if values else None


def corpus_from_stats(name: str, totals: Sequence[float]) -> float:
    from sacrebleu.metrics import BLEU, CHRF

    metric = CHRF() if name == "chrf" else BLEU()
    return float(metric._compute_score_from_stats([int(t) for t in totals]).score)


def accuracy(pairs: Sequence[Sequence[str]]) -> float:
    return sum(gold == pred for gold, pred in pairs) / len(pairs)


def macro_f1(pairs: Sequence[Sequence[str]]) -> float:
    """F1 per gold label (a prediction outside the label set counts against recall only)."""
    labels = sorted({gold for gold, _ in pairs})
    f1s = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def corpus(names: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Every metric in `names` that the rows can give, rounded for the card."""
    out = {}
    for name in names:
        value = aggregate(name, rows)
        if value is not None:
            out[name] = round(value, 6)
    return out
