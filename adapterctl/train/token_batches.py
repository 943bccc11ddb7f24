"""Batches by tokens, not rows: `train.max_tokens_per_batch`.

Rows of mixed length in batches of N rows give steps of very different cost, and short rows
starve a GPU. Here the training rows are shuffled once with the seed and laid, in that order,
into batches of at most `budget` tokens (a row longer than the budget gets a batch of its
own). The trainer then sees one item per batch (batch size 1; collate.ungroup unpacks it),
so its sampler, epochs, gradient accumulation and resume work unchanged, and the same seed
gives the same batches.
"""

from __future__ import annotations

import random
from typing import Any


def group_rows(lengths: list[int], budget: int, seed: int) -> list[list[int]]:
    """Row indices, shuffled by `seed`, cut in order into batches of at most `budget` tokens."""
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    batches: list[list[int]] = []
    current: list[int] = []
    load = 0
    for i in order:
        if current and load + lengths[i] > budget:
            batches.append(current)
            current, load = [], 0
        current.append(i)
        load += lengths[i]
    if current:
        batches.append(current)
    return batches


class TokenBatches:
    """A map-style dataset of token-budget batches over a tokenised dataset's rows."""

    def __init__(self, rows, budget: int, seed: int) -> None:
        self.rows = rows
        self.budget = budget
        self.input_ids = list(rows["input_ids"])
        self.labels = list(rows["labels"]) if "labels" in rows.column_names else None
        self.batches = group_rows([len(x) for x in self.input_ids], budget, seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict[str, Any]:
        members = self.batches[index]
        item = {"input_ids": [self.input_ids[i] for i in members]}
        if self.labels is not None:
            item["labels"] = [self.labels[i] for i in members]
        return item

    def tokens(self) -> int:
        return sum(len(x) for x in self.input_ids)

    def summary(self) -> dict[str, Any]:
        sizes = [sum(len(self.input_ids[i]) for i in b) for b in self.batches]
        return {
            "max_tokens_per_batch": self.budget,
            "batches": len(self.batches),
            "mean_tokens_per_batch": round(sum(sizes) / len(sizes), 1) if sizes else 0,
            "mean_rows_per_batch": round(len(self.input_ids) / len(self.batches), 2) if self.batches else 0,
        }
