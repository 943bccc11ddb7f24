"""Too few eval rows for a verdict (issue 17): below bootstrap.MIN_ROWS paired rows a delta
has no interval and its verdict is "too few rows", never better or worse."""

from __future__ import annotations

from adapterctl.evaluation import bootstrap


def _rows(values: list[float]) -> list[dict]:
    return [{"hash": f"h{i}", "rouge_l": v, "loss": [v * 10, 10]} for i, v in enumerate(values)]


def test_one_or_two_rows_give_no_verdict() -> None:
    for n in range(1, bootstrap.MIN_ROWS):
        a, b = _rows([0.1] * n), _rows([0.9] * n)
        found = bootstrap.deltas(["rouge_l", "eval_loss"], a, b)
        for d in found.values():
            assert d.verdict == "too few rows" and d.low is None and d.high is None and d.better is None
        assert found["rouge_l"].delta > 0.79


def test_from_min_rows_on_a_clear_change_is_called() -> None:
    n = bootstrap.MIN_ROWS
    d = bootstrap.deltas(["rouge_l"], _rows([0.1 + 0.01 * i for i in range(n)]), _rows([0.9] * n))["rouge_l"]
    assert d.verdict == "better" and d.low is not None and d.low > 0
