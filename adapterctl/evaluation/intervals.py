"""95% bootstrap intervals of one version's metrics, from its committed eval rows.

`bootstrap.deltas` answers "is B better than A"; charts of a metric across versions need
each version's own interval. Both resample rows the same way, with the same fixed seed.
Intervals are remembered in the project's file-facts cache, keyed by the results file, so
a results file is bootstrapped once, not on every page view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapterctl.core.project import Project
from adapterctl.evaluation import bootstrap, metrics, results
from adapterctl.store import fingerprints
from adapterctl.versions.card import Card

CELLS = 1_000_000  # weights per resample matrix (8 MB): 10,000 rows take 100 resamples at a time


def intervals(names: Sequence[str], rows: Sequence[dict[str, Any]], *, resamples: int = bootstrap.RESAMPLES):
    """metric → (low, high): the 2.5th and 97.5th percentiles of each metric over the same row
    resamples; metrics the rows do not carry are left out."""
    import numpy as np

    n = len(rows)
    if n == 0:
        return {}
    rng = np.random.default_rng(bootstrap.SEED)
    values: dict[str, list] = {name: [] for name in names}
    chunk = max(1, min(resamples, CELLS // n))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        # row counts of `size` resamples of n rows with replacement (multinomial, drawn as indices:
        # numpy's multinomial draws one binomial per row and is 30x slower at 10,000 rows)
        picks = rng.integers(0, n, size=(size, n)) + np.arange(size)[:, None] * n
        weights = np.bincount(picks.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)
        for name in list(values):
            value = bootstrap._resampled(name, rows, weights)
            if value is None:
                del values[name]
            else:
                values[name].append(value)
    out = {}
    for name, parts in values.items():
        low, high = (float(x) for x in np.percentile(np.concatenate(parts), [2.5, 97.5]))
        out[name] = (low, high)
    return out


def of_card(project: Project, card: Card, cache: fingerprints.FileCache | None = None) -> dict[str, dict[str, float]]:
    """metric → {value, low, high} on the card's most recent eval; {} when it has none here."""
    entries = card.evals()
    if not entries:
        return {}
    entry = entries[max(entries, key=lambda k: entries[k].created)]
    path = project.root / entry.results
    if not path.is_file():
        return {}
    own = cache is None
    cache = cache or fingerprints.FileCache(project)
    try:
        return cache.memo(path, f"intervals-{bootstrap.SEED}-{bootstrap.RESAMPLES}", _compute)
    finally:
        if own:
            cache.save()


def _compute(path) -> dict[str, dict[str, float]]:
    result = results.read(path)
    if result is None:
        return {}
    names = [name for name in metrics.NAMES if result.metrics.get(name) is not None]
    found = intervals(names, result.rows)
    return {
        name: {"value": float(result.metrics[name]), "low": low, "high": high} for name, (low, high) in found.items()
    }
