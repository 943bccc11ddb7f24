"""Argument checks on the command line: no training involved."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["support", "--num-processes", "2"], "--num-processes and --accelerate-config need --launcher accelerate"),
        (["support", "--launcher", "slurm"], "'slurm' is not one of 'none', 'accelerate'"),
        (["support", "--set", "train.learning_rat=1"], "unknown key (did you mean 'learning_rate'?)"),
        (["support", "--set", 'train.batching="dense"'], "--set train.batching"),
        (["support", "--launcher", "accelerate", "--accelerate-config", "nope.yaml"], "use ddp, fsdp, cpu or a path"),
    ],
)
def test_bad_train_options_exit_2_with_one_line(example_project: Path, cli, args: list[str], message: str) -> None:
    result = cli("train", *args, cwd=example_project)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_sweep_needs_a_val_set(example_project: Path, cli) -> None:
    result = cli("sweep", "support", "--grid", "lora.r=4,8", "--set", "train.val_split=0.0", cwd=example_project)
    assert result.exit_code == 2 and "sweep ranks by val loss" in result.stderr


def test_run_options_are_checked_and_never_part_of_the_job(project) -> None:
    from adapterctl import api
    from adapterctl.core.errors import UsageError
    from adapterctl.train import runner
    from adapterctl.train.options import RunOptions

    with pytest.raises(UsageError, match="progress 'bar': use one of auto, rich, plain, json, none"):
        api.train(project, ["support"], progress="bar")
    options = RunOptions.build(progress="json", launcher="accelerate", num_processes=2)
    assert RunOptions.from_argv(["--resume", *options.to_argv()]) == options, "what a worker rebuilds"
    [job] = runner.prepare(project, ["support"], [], options=options)
    assert not {"progress", "launcher", "allow_data_errors"} & set(job.to_dict())


def test_a_resume_without_a_launcher_flag_starts_as_its_run_did() -> None:
    """An FSDP checkpoint needs FSDP to load: a plain --resume inherits the run's launcher;
    a launcher flag on the resuming command wins; progress is always the resuming command's."""
    from adapterctl.train.options import Launcher, RunOptions

    started = Launcher(kind="accelerate", num_processes=4, config="fsdp")
    plain = RunOptions.build(progress="json")
    assert not plain.launcher_given and plain.launcher == Launcher()  # a new run: in this process
    assert plain.for_run(None) == plain
    resumed = plain.for_run(started)
    assert resumed.launcher == started and resumed.progress == "json"
    given = RunOptions.build(launcher="none")
    assert given.for_run(started).launcher == Launcher(), "a launcher flag on the resume wins"
    assert RunOptions.from_argv(resumed.to_argv()) == resumed, "workers get the launcher the run resumes with"
