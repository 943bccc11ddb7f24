"""One error hierarchy. The CLI maps these to exit codes in one place (cli.main)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report a process ended by `kill`


class AdapterctlError(Exception):
    """Base of every error a user may see. `str(err)` is the one line they read."""

    exit_code = EXIT_BAD_INPUT


class UsageError(AdapterctlError):
    """Bad arguments or options on the command line."""


class ProjectNotFound(AdapterctlError):
    """No adapterctl.toml in this folder or any parent."""


class ManifestError(AdapterctlError):
    """The manifest is malformed: syntax, unknown key, bad value, missing file."""


class RefError(AdapterctlError):
    """A reference (NAME, NAME@id, NAME@env, NAME@~N) that does not parse or resolve."""


class IntegrityError(AdapterctlError):
    """Stored weights do not match their recorded hash."""


class StorageError(AdapterctlError):
    """DVC or git failed, or a version's files are not available."""


class IncompleteTransfer(StorageError):
    """A push or pull that finished without some objects: the data exists nowhere DVC looked."""

    exit_code = EXIT_CHECK_FAILED


class LockTimeout(AdapterctlError):
    """Another adapterctl process held the project lock for too long."""


class DataError(AdapterctlError):
    """Training or eval data that cannot be used as declared."""


class TrainingFailed(AdapterctlError):
    """A training worker process exited with an error (its output says why)."""


class CheckFailed(AdapterctlError):
    """A check or eval gate ran and said no."""

    exit_code = EXIT_CHECK_FAILED


class Interrupted(AdapterctlError):
    """The user interrupted (Ctrl-C); nothing was registered."""

    exit_code = EXIT_INTERRUPTED


class Terminated(Interrupted):
    """SIGTERM (`kill PID`): handled as Ctrl-C is, with the exit code shells expect."""

    exit_code = EXIT_TERMINATED
