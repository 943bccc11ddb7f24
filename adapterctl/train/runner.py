"""Running training jobs: in this process or under `accelerate launch`, with Ctrl-C and
resume handled, then registering what they produced as versions.

api.train and api.sweep are thin wrappers over these functions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl import manifest as manifest_mod
from adapterctl.core import ui
from adapterctl.core.errors import AdapterctlError, Interrupted, ManifestError, Terminated, UsageError
from adapterctl.core.project import Project
from adapterctl.core.refs import short
from adapterctl.train import runs
from adapterctl.train.job import TrainJob
from adapterctl.train.options import Launcher, RunOptions
from adapterctl.versions.card import DataCheck, SweepInfo, Training


@dataclass
class Outcome:
    """One trained adapter: its run, training record and (once registered) version."""

    adapter: str
    run_id: str
    summary: Training
    version: Any = None  # versions.Version once registered
    sweep: dict[str, Any] | None = None
    notices: list[str] = field(default_factory=list)


def prepare(
    project: Project,
    names: list[str],
    overrides: list[str],
    *,
    options: RunOptions,
    sweep: SweepInfo | None = None,
) -> list[TrainJob]:
    """Resolve and validate every spec before anything trains: a typo in the last name fails fast.

    Each adapter's data passes `data check` first (cached by the files' md5): errors refuse
    it unless `options.allow_data_errors`; the summary goes into the version card."""
    from adapterctl.data.hygiene import gate

    m = manifest_mod.load(project.manifest_path)
    parsed = manifest_mod.parse_overrides(overrides)
    problems = manifest_mod.check_files(m)
    jobs = []
    for name in names:
        spec = m.adapter(name, parsed)
        mine = [p for p in problems if f"adapters.{name}." in p]
        if mine:
            raise ManifestError(mine[0])
        jobs.append(
            TrainJob.from_spec(
                spec,
                manifest_mod.spec_hash(spec, project.root),
                m.base,
                overrides=list(overrides),
                sweep=sweep,
                data_check=DataCheck.model_validate(
                    gate.for_training(project, spec, m.base, force=options.allow_data_errors)
                ),
            )
        )
    return jobs


def claim_for_resume(project: Project, job: TrainJob, overrides_given: bool) -> tuple[runs.Run, TrainJob]:
    """The interrupted run to continue, and the job it was started with.

    Without --set, the run's own overrides are reapplied, so `train x --set a=b` followed
    by `train x --resume` continues that run. The spec must still resolve to the same hash.
    run.json holds the job and how the run was started (its launcher); progress is the resuming command's.
    """
    run = runs.resumable(project, job.adapter)
    stored = TrainJob.from_dict(run.record["job"])
    if not overrides_given and stored.overrides:
        m = manifest_mod.load(project.manifest_path)
        spec = m.adapter(job.adapter, manifest_mod.parse_overrides(stored.overrides))
        current_hash = manifest_mod.spec_hash(spec, project.root)
    else:
        current_hash = job.spec_hash
    if current_hash != stored.spec_hash:
        raise UsageError(
            f"run {run.id} trained '{job.adapter}' with spec {short(stored.spec_hash)}, but the manifest now "
            f"resolves to {short(current_hash)}; run without --resume to start over"
        )
    # A run that finished training keeps "trained": `execute` must register exactly that
    # result, never train it again (a resumed Trainer would run past max_steps).
    run.update(status="trained" if _finished(run) else "running", pid=os.getpid())
    return run, stored


def _finished(run: runs.Run) -> bool:
    """Training wrote its summary, which happens only after the adapter folder is saved."""
    from adapterctl.store import weights

    return run.summary_path.is_file() and (run.adapter_dir / weights.WEIGHTS).is_file()


def _warn_if_processes_change(run: runs.Run, checkpoint: Path, options: RunOptions) -> None:
    """A resume given another launcher than its run started with still resumes, but with a
    different number of processes the effective batch (and the data order) change from there."""
    before = run.checkpoint_processes(checkpoint)
    now = options.launcher.num_processes
    if now is None:  # one per device
        from adapterctl import modeling
        from adapterctl.train import launch

        now = launch.default_processes(modeling.device())
    if now != before:
        ui.warn(
            f"run {run.id} was checkpointed by {before} process(es) and resumes in {now}: the effective batch "
            "changes from here on (resume without --launcher to start it as it was)"
        )


def execute(project: Project, run: runs.Run, job: TrainJob, options: RunOptions, *, bases, resume: bool) -> Training:
    """Train `job` into `run`'s folder; returns the training summary. Ctrl-C → Interrupted."""
    try:
        if _finished(run):
            return run.summary()  # finished before: only registration is left
        if options.launcher.kind == "accelerate":
            from adapterctl.train import launch

            launch.run(project, run, job, options, resume=resume)
            return runs.load(run.dir).summary()
        from adapterctl.train.recipe import SFTRecipe

        recipe = SFTRecipe(project, run, job, options, bases=bases, resume=resume)
        try:
            recipe.setup()
            recipe.train()
            return recipe.save()  # type: ignore[return-value]
        finally:
            recipe.cleanup()
    except KeyboardInterrupt as exc:
        run.update(status="interrupted", pid=None)
        error = Terminated if isinstance(exc, _SigTerm) else Interrupted
        raise error(
            f"{'terminated' if error is Terminated else 'interrupted'}: nothing was registered for '{job.adapter}'; "
            f"continue with `adapterctl train {job.adapter} --resume`"
        ) from None
    except BaseException as exc:  # the run record says why it stopped, whatever stopped it; re-raised
        run.update(status="failed", error=f"{type(exc).__name__}: {exc}", pid=None)
        raise


def register(
    project: Project, run: runs.Run, job: TrainJob, *, message: str = "", card_extra: dict[str, Any] | None = None
):
    """Register the run's adapter folder as a version of job.adapter (parent: the previous latest)."""
    from adapterctl import versions

    # The prompt format is a top-level card table ([prompt]), not part of the run's record.
    training, prompt = run.summary().for_card()
    extra_files = [run.curve_path] if run.curve_path.exists() else []
    resume = f"the run is trained: `adapterctl train {job.adapter} --resume` registers it"
    try:
        versions.store_training_data(project, job.adapter_spec(), training)
        version = versions.register(
            project,
            job.adapter,
            run.adapter_dir,
            spec=job.adapter_spec(),
            message=message,
            training=training,
            extra_files=extra_files,
            card_extra={
                **({"data_check": job.data_check.to_dict()} if job.data_check else {}),
                **({"prompt": prompt} if prompt is not None else {}),
                **(card_extra or {}),
            },
        )
    except KeyboardInterrupt:
        error = Terminated if isinstance(sys.exc_info()[1], _SigTerm) else Interrupted
        raise error(f"interrupted during registration: nothing was registered; {resume}") from None
    except AdapterctlError as exc:
        raise type(exc)(f"{exc}; {resume}") from None
    run.update(status="registered", version=version.id, pid=None)
    # The version holds the weights now; checkpoints only served a resume, which is over.
    for folder in (run.checkpoints_dir, run.adapter_dir):
        shutil.rmtree(folder, ignore_errors=True)
    return version


def train_all(
    project: Project,
    jobs: list[TrainJob],
    options: RunOptions,
    *,
    resume: bool = False,
    overrides_given: bool = False,
    message: str = "",
    do_register: bool = True,
) -> list[Outcome]:
    """Train the jobs in turn, sharing one loaded base between them where their load keys agree."""
    from adapterctl.train.base_cache import BaseCache

    bases = BaseCache()
    outcomes: list[Outcome] = []
    with _sigterm_interrupts():
        return _train_each(
            project,
            jobs,
            options,
            bases,
            outcomes,
            resume=resume,
            overrides_given=overrides_given,
            message=message,
            do_register=do_register,
        )


class _SigTerm(KeyboardInterrupt):
    """SIGTERM, delivered as Ctrl-C is, so the same handlers mark the run interrupted."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum, _frame):
        raise _SigTerm()

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _train_each(
    project: Project,
    jobs: list[TrainJob],
    options: RunOptions,
    bases,
    outcomes: list[Outcome],
    *,
    resume: bool,
    overrides_given: bool,
    message: str,
    do_register: bool,
) -> list[Outcome]:
    try:
        for job in jobs:
            if resume:
                run, job = claim_for_resume(project, job, overrides_given)
                started = run.record.get("launcher")  # None for runs from before it was recorded
                run_options = options.for_run(Launcher.model_validate(started) if started else None)
                if run.status == "trained":
                    ui.info(f"run {run.id} of {job.adapter} finished training: registering its result")
                else:
                    ui.info(
                        f"resuming run {run.id} of {job.adapter}"
                        + (f" from {ckpt.name}" if (ckpt := run.last_checkpoint()) else " from the start")
                    )
                    if ckpt is not None:
                        _warn_if_processes_change(run, ckpt, run_options)
            else:
                run_options = options
                run = runs.create(project, job.adapter, job.to_dict())
                run.update(launcher=run_options.launcher.model_dump())  # what a plain --resume starts again
            summary = execute(project, run, job, run_options, bases=bases, resume=resume)
            for notice in summary.notices or []:
                ui.warn(f"{job.adapter}: {notice}")
            outcome = Outcome(
                job.adapter,
                run.id,
                summary,
                sweep=job.sweep.to_dict() if job.sweep else None,
                notices=list(summary.notices or []),
            )
            if do_register:
                outcome.version = register(project, run, job, message=message)
            outcomes.append(outcome)
    finally:
        bases.clear()
    return outcomes
