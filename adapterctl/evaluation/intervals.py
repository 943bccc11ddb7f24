"""95% bootstrap intervals of one version's metrics, from its committed eval rows.

`bootstrap.deltas` answers "is B better than A"; charts of a metric across versions need
each version's own interval. Both resample rows the same way, with the same fixed seed.
Intervals are remembered in the project's file-facts cache, keyed by the results file, so
a results file is bootstrapped once, not on every page view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapterctl import fingerprints
from adapterctl.evaluation import bootstrap, metrics, results
from adapterctl.project import Project
from adapterctl.versions.card import Card

CHUNK = 100  # resamples per matrix: 10,000 rows x 100 resamples is 8 MB of weights


def interval(name: str, rows: Sequence[dict[str, Any]], *, resamples: int = bootstrap.RESAMPLES):
    """(low, high): the 2.5th and 97.5th percentiles of the metric over row resamples; None
    when the rows do not carry it."""
    import numpy as np

    n = len(rows)
    if n == 0:
        return None
    rng = np.random.default_rng(bootstrap.SEED)
    values = []
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        value = bootstrap._resampled(name, rows, weights)
        if value is None:
            return None
        values.append(value)
    low, high = (float(x) for x in np.percentile(np.concatenate(values), [2.5, 97.5]))
    return low, high


def of_card(project: Project, card: Card, cache: fingerprints.FileCache | None = None) -> dict[str, dict[str, float]]:
    """metric → {value, low, high} on the card's most recent eval; {} when it has none here."""
    entries = card.evals()
    if not entries:
        return {}
    entry = entries[max(entries, key=lambda k: str(entries[k].get("created", "")))]
    path = project.root / entry["results"]
    if not path.is_file():
        return {}
    own = cache is None
    cache = cache or fingerprints.FileCache(project)
    try:
        return cache.memo(path, f"intervals-{bootstrap.SEED}", _compute)
    finally:
        if own:
            cache.save()


def _compute(path) -> dict[str, dict[str, float]]:
    result = results.read(path)
    if result is None:
        return {}
    out = {}
    for name in metrics.NAMES:
        value = result.metrics.get(name)
        if value is None:
            continue
        bounds = interval(name, result.rows)
        if bounds is not None:
            out[name] = {"value": float(value), "low": bounds[0], "high": bounds[1]}
    return out
