"""`--launcher accelerate`: the same recipe, one process per device, under `accelerate launch`.

This process validates the job, starts `accelerate launch -m adapterctl.train.worker RUN_DIR
--options JSON` with a config from templates/accelerate/ (ddp, fsdp, cpu) or the user's own,
and waits. The workers read the job from run.json and the run options from their command line.
Rank 0 writes the adapter folder and summary into the run folder; registration then happens
here, exactly as after an in-process run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from adapterctl import modeling
from adapterctl.core.errors import TrainingFailed
from adapterctl.core.project import Project
from adapterctl.train.job import TrainJob
from adapterctl.train.options import RunOptions, config_path
from adapterctl.train.runs import Run


def default_processes(dev: str) -> int:
    import torch

    return max(torch.cuda.device_count(), 1) if dev == "cuda" else 1


def command(run: Run, options: RunOptions, dev: str, *, resume: bool) -> list[str]:
    launcher = options.launcher
    n = launcher.num_processes or default_processes(dev)
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_path(launcher.config, dev)),
        "--num_processes",
        str(n),
        "--main_process_port",
        str(_free_port()),
        "-m",
        "adapterctl.train.worker",
        str(run.dir),
        *options.to_argv(),
    ]
    return cmd + (["--resume"] if resume else [])


def run(project: Project, run: Run, job: TrainJob, options: RunOptions, *, resume: bool) -> None:
    """Start the workers and wait; Ctrl-C stops them all and re-raises."""
    from adapterctl.data import examples
    from adapterctl.runtime.quiet import quiet

    spec = job.adapter_spec()
    # Data and template errors surface here, once, before N processes start.
    assert spec.data is not None  # combinations are made by `combine`, never trained
    with quiet():
        examples.build(
            project.root,
            data=spec.data,
            val_data=spec.val_data,
            template=spec.template,
            val_split=spec.train.val_split,
            seed=spec.train.seed,
        )
    cmd = command(run, options, modeling.device(), resume=resume)
    env = {**os.environ, "PYTHONPATH": _pythonpath(), "ACCELERATE_LOG_LEVEL": "error"}
    # Workers' stdout (the --json progress lines of rank 0) is relayed through ours, so it
    # reaches whoever reads this process; stderr (the progress bar) goes straight through.
    proc = subprocess.Popen(
        cmd, cwd=project.root, env=env, start_new_session=True, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
        code = proc.wait()
    except KeyboardInterrupt:
        _stop(proc)
        raise
    if code != 0:
        raise TrainingFailed(
            f"training workers for '{job.adapter}' exited with status {code} (output above); run folder: {run.dir}"
        )


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pythonpath() -> str:
    """The workers import this same adapterctl, wherever it was imported from."""
    here = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + current if current else "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
