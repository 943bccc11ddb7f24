"""Sweep grids: splitting values, expanding combinations, ranking candidates."""

from __future__ import annotations

import pytest

from adapterctl.core.errors import ManifestError, UsageError
from adapterctl.train import sweep


def test_grid_values_split_on_top_level_commas_only() -> None:
    grid = sweep.parse_grid(
        ["train.learning_rate=1e-4, 2e-4,5e-4", 'lora.target_modules=["q_proj","v_proj"],"all-linear"']
    )
    assert grid == [
        ("train.learning_rate", ["1e-4", "2e-4", "5e-4"]),
        ("lora.target_modules", ['["q_proj","v_proj"]', '"all-linear"']),
    ]
    combos = sweep.expand(grid)
    assert len(combos) == 6 and combos[0] == ["train.learning_rate=1e-4", 'lora.target_modules=["q_proj","v_proj"]']
    assert sweep.params(combos[0]) == {"train.learning_rate": 1e-4, "lora.target_modules": ["q_proj", "v_proj"]}


def test_grid_errors() -> None:
    with pytest.raises(ManifestError, match="unknown key"):
        sweep.parse_grid(["train.lr=1,2"])
    with pytest.raises(UsageError, match="given twice"):
        sweep.parse_grid(["lora.r=8", "lora.r=16"])
    with pytest.raises(UsageError, match="at most 64"):
        sweep.expand([("lora.r", [str(i) for i in range(1, 10)]), ("lora.alpha", [str(i) for i in range(1, 10)])])
    assert sweep.rank([0.5, None, 0.2, 0.5]) == [2, 0, 3, 1]
