"""One error hierarchy, and the one table of exit codes.

Every error a user may see is an `AdapterctlError` whose class decides the exit code (a
feature may subclass one beside its code, as serve/catalog.py and data/prompts.py do). The
CLI turns it into one line and that code in one place, `cli.AdapterctlGroup.invoke`, which
also maps Ctrl-C to 130; the dashboard and the server map the same classes to HTTP statuses.
Foreign exceptions are translated where they enter: DVC's in `storage` (the words in
`remote_errors`), git's in `gitio`, the model loaders' in `modeling`.

| code | meaning |
|------|---------|
| 0    | ok |
| 1    | a check or gate ran and said no |
| 2    | bad input: arguments, manifest, data, references (the message names the file, line or key) |
| 3    | integrity: a corrupt, structurally broken or mismatched version |
| 4    | storage, remote or network: DVC, git, a remote, a missing local copy |
| 5    | busy: the project lock is held, or a git merge left conflict markers |
| 130  | interrupted (Ctrl-C) |
| 143  | terminated (SIGTERM) |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTEGRITY = 3
EXIT_STORAGE = 4
EXIT_BUSY = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report a process ended by `kill`

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok",
    EXIT_CHECK_FAILED: "a check or gate failed",
    EXIT_BAD_INPUT: "bad input (the message names the file, line or key)",
    EXIT_INTEGRITY: "integrity: a corrupt, structurally broken or mismatched version",
    EXIT_STORAGE: "storage, remote or network",
    EXIT_BUSY: "lock busy or unresolved merge conflict",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}


class AdapterctlError(Exception):
    """Base of every error a user may see. `str(err)` is the one line they read."""

    exit_code = EXIT_BAD_INPUT


class UsageError(AdapterctlError):
    """Bad arguments or options on the command line."""


class ProjectNotFound(AdapterctlError):
    """No adapterctl.toml in this folder or any parent."""


class ManifestError(AdapterctlError):
    """The manifest is malformed: syntax, unknown key, bad value, missing file.

    `problems` lists every problem found, one line each (file:line: key: message); the
    message is the first, with a count of the rest (`validate` prints them all)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems) if problems else [message]
        if problems and len(problems) > 1:
            message = f"{problems[0]} (and {len(problems) - 1} more: `adapterctl validate` lists them all)"
        super().__init__(message)


class RefError(AdapterctlError):
    """A reference (NAME, NAME@<id>, NAME@<env>, NAME@~N) that does not parse or resolve."""


class IntegrityError(AdapterctlError):
    """A version that is corrupt, structurally broken, or does not match what its card records."""

    exit_code = EXIT_INTEGRITY


class StorageError(AdapterctlError):
    """DVC or git failed, a remote is unreachable, or a version's files are not available here."""

    exit_code = EXIT_STORAGE


class IncompleteTransfer(StorageError):
    """A push or pull that finished without some objects: the data exists nowhere DVC looked."""


class LockTimeout(AdapterctlError):
    """Another adapterctl process held the project lock for too long."""

    exit_code = EXIT_BUSY


class MergeConflict(AdapterctlError):
    """A tracked file (a pointer, a card) still holds git conflict markers from a merge."""

    exit_code = EXIT_BUSY


class DataError(AdapterctlError):
    """Training or eval data that cannot be used as declared."""


class TrainingFailed(AdapterctlError):
    """A training worker process exited with an error (its output says why). Exit 2: what a
    worker fails on (memory for the batch size, a data row, a launcher option) is the input."""


class CheckFailed(AdapterctlError):
    """A check or eval gate ran and said no."""

    exit_code = EXIT_CHECK_FAILED


class Interrupted(AdapterctlError):
    """The user interrupted (Ctrl-C); nothing was registered."""

    exit_code = EXIT_INTERRUPTED


class Terminated(Interrupted):
    """SIGTERM (`kill PID`): handled as Ctrl-C is, with the exit code shells expect."""

    exit_code = EXIT_TERMINATED
