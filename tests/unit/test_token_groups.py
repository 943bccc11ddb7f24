"""Token-budget batches: rows shuffled by the seed, cut in order, every row once (no model)."""

from __future__ import annotations

import itertools

from adapterctl.train.token_batches import group_rows


def test_rows_are_shuffled_by_the_seed_then_cut_in_order() -> None:
    lengths = [30, 50, 20, 70, 10, 40, 60, 25]
    batches = group_rows(lengths, budget=100, seed=3)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(8)), "every row exactly once"
    assert flat != list(range(8)), "in the seed's order, not the file's"
    assert all(sum(lengths[i] for i in b) <= 100 for b in batches)
    # Cut in order: a batch closes only when the next row would not fit.
    for b, after in itertools.pairwise(batches):
        assert sum(lengths[i] for i in b) + lengths[after[0]] > 100
    assert group_rows(lengths, 100, seed=3) == batches, "same seed, same batches"
    assert group_rows(lengths, 100, seed=4) != batches


def test_a_row_longer_than_the_budget_gets_a_batch_of_its_own() -> None:
    assert group_rows([5, 500, 5], budget=100, seed=0).count([1]) == 1
