"""How a training command runs, as opposed to what it trains.

The job (job.py) is what to train: the resolved spec, its hash, the base. It is stored in
run.json, and a resume rebuilds it from there. `RunOptions` are the choices of the command
that runs it: where progress goes, which launcher, whether data errors are let through.
They are made once where the command starts (cli → api), handed down to the runner and the
recipe, and are not part of the job: a resumed run reports progress as the resuming command
asks. The launcher is the one choice a resume inherits: run.json records how the run was
started, and a resume without --launcher starts it the same way (an FSDP checkpoint needs
FSDP to load). An `accelerate launch` worker gets the options on its command line (`--options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from adapterctl.core import assets
from adapterctl.core.errors import UsageError

CONFIGS = ("ddp", "fsdp", "cpu")


def config_path(choice: str | None, dev: str) -> Path:
    """The accelerate config for a preset name or the user's YAML (none given: ddp on CUDA, else cpu)."""
    if choice is None:
        choice = "ddp" if dev == "cuda" else "cpu"
    if choice in CONFIGS:
        return assets.templates_dir() / "accelerate" / f"{choice}.yaml"
    path = Path(choice).expanduser()
    if not path.is_file():
        raise UsageError(f"--accelerate-config {choice}: use {', '.join(CONFIGS)} or a path to a YAML file")
    return path.resolve()


Progress = Literal["auto", "rich", "plain", "json", "none"]
PROGRESS_KINDS: tuple[str, ...] = get_args(Progress)


class Launcher(BaseModel):
    """How the run is started: in this process, or one process per device under accelerate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["none", "accelerate"] = "none"
    num_processes: int | None = 1  # None: one per device
    config: str | None = None  # an accelerate config preset or YAML path


class RunOptions(BaseModel):
    """progress: auto (a bar on a terminal, plain lines elsewhere), rich, plain, json or none.
    allow_data_errors: train even when `data check` finds errors (the card records it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    progress: Progress = "auto"
    launcher: Launcher = Launcher()
    launcher_given: bool = True  # False: no launcher flag, so a resume starts as its run did
    allow_data_errors: bool = False

    def for_run(self, started: Launcher | None) -> RunOptions:
        """These options for a run that was started with `started` (None: a new run)."""
        if self.launcher_given or started is None:
            return self
        return self.model_copy(update={"launcher": started, "launcher_given": True})

    @classmethod
    def build(
        cls,
        *,
        progress: str = "auto",
        launcher: str | None = None,
        num_processes: int | None = None,
        accelerate_config: str | None = None,
        allow_data_errors: bool = False,
    ) -> RunOptions:
        """From a command's flags (`train --launcher/--num-processes/--accelerate-config`,
        --json, --allow-data-errors), checked: a bad value is one UsageError naming the flag.
        No launcher: in this process for a new run, as the run was started for a resume."""
        if progress not in PROGRESS_KINDS:
            raise UsageError(f"progress {progress!r}: use one of {', '.join(PROGRESS_KINDS)}")
        return cls(
            progress=progress,
            launcher=launcher_from_flags(launcher or "none", num_processes, accelerate_config),
            launcher_given=launcher is not None,
            allow_data_errors=allow_data_errors,
        )

    def to_argv(self) -> list[str]:
        """What an `accelerate launch` worker is given to rebuild these options."""
        return ["--options", self.model_dump_json()]

    @classmethod
    def from_argv(cls, argv: list[str]) -> RunOptions:
        if "--options" not in argv:
            return cls()
        text = argv[argv.index("--options") + 1]
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise UsageError(f"--options {text!r}: {exc.errors()[0]['msg']}") from None


def launcher_from_flags(kind: str, num_processes: int | None, config: str | None) -> Launcher:
    """`train --launcher/--num-processes/--accelerate-config`, checked."""
    if kind not in ("none", "accelerate"):
        raise UsageError(f"--launcher {kind}: use none or accelerate")
    if kind == "none" and (num_processes or config):
        raise UsageError("--num-processes and --accelerate-config need --launcher accelerate")
    if num_processes is not None and num_processes < 1:
        raise UsageError("--num-processes must be at least 1")
    if config is not None:  # config_path rejects a name that is neither a preset nor a file
        config = config if config in CONFIGS else str(config_path(config, "cpu"))
    return Launcher(
        kind=kind,
        num_processes=num_processes or (1 if kind == "none" else None),
        config=config,
    )
