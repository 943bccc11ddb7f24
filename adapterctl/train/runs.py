"""Training runs on disk: `.adapterctl/runs/<run-id>/` holds what one `train` needs to
resume, and what it produced before registration.

    run.json          the job: adapter, resolved spec and its hash, status, pid
    checkpoints/      trainer checkpoints (adapter, optimizer, scheduler, RNG state)
    adapter/          the saved PEFT folder, once training finished
    loss_curve.png    the loss curve, saved with the version
    summary.json      the `training` record written into the version card

Status moves running → trained → registered; a Ctrl-C sets interrupted, an exception
failed; a killed process leaves running with a dead pid. `--resume` picks the newest run
of the adapter that did not reach registered.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project, atomic_write, process_alive
from adapterctl.versions.card import Training, training_record

RUNS_DIR = "runs"
UNFINISHED = {"running", "interrupted", "failed", "trained"}


@dataclass
class Run:
    dir: Path
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def adapter(self) -> str:
        return self.record["adapter"]

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def checkpoints_dir(self) -> Path:
        return self.dir / "checkpoints"

    @property
    def adapter_dir(self) -> Path:
        return self.dir / "adapter"

    @property
    def curve_path(self) -> Path:
        return self.dir / "loss_curve.png"

    @property
    def summary_path(self) -> Path:
        return self.dir / "summary.json"

    def update(self, **fields: Any) -> None:
        self.record.update(fields, updated=_now())
        atomic_write(self.dir / "run.json", json.dumps(self.record, indent=2, sort_keys=True) + "\n")

    def last_checkpoint(self) -> Path | None:
        found = [p for p in self.checkpoints_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
        complete = [p for p in found if (p / "trainer_state.json").exists()]  # a kill mid-save leaves a partial one
        return max(complete, key=lambda p: int(p.name.split("-")[-1]), default=None)

    @staticmethod
    def checkpoint_processes(checkpoint: Path) -> int:
        """How many processes wrote a checkpoint: the Trainer saves one rng_state_RANK.pth per
        process when there are several, a single rng_state.pth otherwise."""
        return len(list(checkpoint.glob("rng_state_*.pth"))) or 1

    def summary(self) -> Training:
        """The training record training wrote (summary.json), which registration puts in the card."""
        return training_record(json.loads(self.summary_path.read_text()), self.summary_path)

    def alive(self) -> bool:
        """Whether the process that owns this run is still running."""
        pid = self.record.get("pid")
        if self.status != "running" or not pid or pid == os.getpid():
            return False
        return process_alive(pid)


def runs_dir(project: Project) -> Path:
    return project.state_dir / RUNS_DIR


def create(project: Project, adapter: str, job: dict[str, Any]) -> Run:
    run_id = f"{adapter}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = runs_dir(project) / run_id
    folder.mkdir(parents=True)
    run = Run(folder, {"id": run_id, "adapter": adapter, "created": _now(), "created_ns": time.time_ns(), "job": job})
    run.update(status="running", pid=os.getpid())
    return run


def load(folder: Path) -> Run:
    return Run(folder, json.loads((folder / "run.json").read_text()))


def history(project: Project, adapter: str) -> list[Run]:
    """Runs of `adapter`, newest first."""
    found = []
    for path in runs_dir(project).glob(f"{adapter}-*/run.json"):
        try:
            run = load(path.parent)
        except (OSError, json.JSONDecodeError):
            continue
        if run.adapter == adapter:
            found.append(run)
    return sorted(found, key=lambda r: r.record.get("created_ns", 0), reverse=True)


def resumable(project: Project, adapter: str) -> Run:
    """The newest unfinished run of `adapter`, ready to be claimed by this process."""
    for run in history(project, adapter):
        if run.status == "registered":
            break  # anything older was superseded by a finished run
        if run.status in UNFINISHED:
            if run.alive():
                raise UsageError(f"run {run.id} of {adapter} is still in progress (pid {run.record['pid']})")
            return run
    raise UsageError(f"no interrupted run of '{adapter}' to resume (runs live in {runs_dir(project)})")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
