"""Argument checks and sweep grids: no training involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl.errors import ManifestError, UsageError
from adapterctl.train import sweep


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["support", "--num-processes", "2"], "--num-processes and --accelerate-config need --launcher accelerate"),
        (["support", "--launcher", "slurm"], "--launcher slurm: use none or accelerate"),
        (["support", "--set", "train.learning_rat=1"], "unknown key (did you mean 'learning_rate'?)"),
        (["support", "--set", "train.batching=\"dense\""], "--set train.batching"),
        (["support", "--launcher", "accelerate", "--accelerate-config", "nope.yaml"], "use ddp, fsdp, cpu or a path"),
    ],
)
def test_bad_train_options_exit_2_with_one_line(example_project: Path, cli, args: list[str], message: str) -> None:
    result = cli("train", *args, cwd=example_project)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_grid_values_split_on_top_level_commas_only() -> None:
    grid = sweep.parse_grid(["train.learning_rate=1e-4, 2e-4,5e-4", 'lora.target_modules=["q_proj","v_proj"],"all-linear"'])
    assert grid == [("train.learning_rate", ["1e-4", "2e-4", "5e-4"]),
                    ("lora.target_modules", ['["q_proj","v_proj"]', '"all-linear"'])]
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


def test_sweep_needs_a_val_set(example_project: Path, cli) -> None:
    result = cli("sweep", "support", "--set", "lora.r=4,8", "--fix", "train.val_split=0.0", cwd=example_project)
    assert result.exit_code == 2 and "sweep ranks by val loss" in result.stderr
