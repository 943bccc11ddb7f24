"""Paired bootstrap intervals on metric deltas: is B better than A, or is it noise?

Both models answered the same eval rows. Resample the rows with replacement (the same
resample for both models: that is the pairing), recompute each metric on the resample for
A and for B, and take the 2.5th and 97.5th percentiles of B − A over the resamples. The
delta is significant when that interval excludes 0. Resamples are row weights
(multinomial counts), so every metric is a weighted sum of per-row data and one matrix
product serves all rows: 1,000 resamples of 10,000 rows take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapterctl.evaluation import metrics as metrics_mod

RESAMPLES = 1000
# Below this many paired rows the resamples are too few to mean anything (with 1 or 2 rows
# every resample is one of a handful, and the "interval" has zero width): no interval and
# no verdict, only "too few rows". docs/eval.md states the number.
MIN_ROWS = 5
TOO_FEW = "too few rows"
SEED = 20261128  # fixed: the same results give the same interval on every machine


@dataclass
class Delta:
    metric: str
    a: float
    b: float
    delta: float  # b - a
    low: float | None  # None with fewer than MIN_ROWS rows
    high: float | None
    rows: int
    significant: bool
    better: bool | None  # None when not significant

    @property
    def verdict(self) -> str:
        if self.rows < MIN_ROWS:
            return TOO_FEW
        if not self.significant:
            return "noise"
        return "better" if self.better else "worse"


def pair(rows_a: Sequence[dict[str, Any]], rows_b: Sequence[dict[str, Any]]) -> list[tuple[dict, dict]]:
    """Rows of A and B on the same eval row (matched by content hash, duplicates in order)."""
    seen: dict[str, list[dict]] = {}
    for r in rows_a:
        seen.setdefault(r.get("hash", ""), []).append(r)
    out = []
    for r in rows_b:
        bucket = seen.get(r.get("hash", ""))
        if bucket:
            out.append((bucket.pop(0), r))
    return out


def deltas(
    names: Sequence[str],
    rows_a: Sequence[dict],
    rows_b: Sequence[dict],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, Delta]:
    """A Delta for every metric in `names` that both sides carry, on their paired rows."""
    import numpy as np

    pairs = pair(rows_a, rows_b)
    if not pairs:
        return {}
    a_rows = [p[0] for p in pairs]
    b_rows = [p[1] for p in pairs]
    n = len(pairs)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    out = {}
    for name in names:
        a_value = metrics_mod.aggregate(name, a_rows)
        b_value = metrics_mod.aggregate(name, b_rows)
        if a_value is None or b_value is None:
            continue
        if n < MIN_ROWS:
            out[name] = Delta(name, a_value, b_value, b_value - a_value, None, None, n, False, None)
            continue
        a_boot = _resampled(name, a_rows, weights)
        b_boot = _resampled(name, b_rows, weights)
        if a_boot is None or b_boot is None:
            continue
        diff = b_boot - a_boot
        low, high = (float(x) for x in np.percentile(diff, [2.5, 97.5]))
        significant = low > 0 or high < 0
        better = None
        if significant:
            better = (low > 0) == metrics_mod.higher_is_better(name)
        out[name] = Delta(name, a_value, b_value, b_value - a_value, low, high, n, significant, better)
    return out


def _resampled(name: str, rows: Sequence[dict], weights):
    """The metric on every resample (one value per row of `weights`), or None if rows lack it."""
    import numpy as np

    if name in ("eval_loss", "perplexity"):
        if not all("loss" in r for r in rows):
            return None
        nll = np.array([r["loss"][0] for r in rows])
        tokens = np.array([r["loss"][1] for r in rows])
        loss = (weights @ nll) / np.maximum(weights @ tokens, 1)
        return loss if name == "eval_loss" else np.exp(np.minimum(loss, 700))
    if not all(name in r or (name in ("accuracy", "macro_f1") and "label" in r) for r in rows):
        return None
    if name in ("bleu", "chrf"):
        sums = weights @ np.array([r[name] for r in rows], dtype=np.float64)
        return np.array([metrics_mod.corpus_from_stats(name, row) for row in sums])
    if name in ("accuracy", "macro_f1"):
        gold = [r["label"][0] for r in rows]
        pred = [r["label"][1] for r in rows]
        if name == "accuracy":
            return weights @ np.array([g == p for g, p in zip(gold, pred, strict=True)], dtype=np.float64) / len(rows)
        f1s = []
        for label in sorted(set(gold)):
            g = np.array([x == label for x in gold])
            p = np.array([x == label for x in pred])
            tp, fp, fn = weights @ (g & p), weights @ (~g & p), weights @ (g & ~p)
            f1s.append(np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0))
        return np.mean(f1s, axis=0)
    return weights @ np.array([float(r[name]) for r in rows]) / len(rows)
