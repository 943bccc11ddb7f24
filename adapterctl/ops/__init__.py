"""State-changing operations, one per module (as dvc/repo/*.py): scaffold (init, with
ci_workflow), add, adopt (import), deploy, rollback, transfer (push/pull), gc, combine, sync,
train. What changes the project's state runs under the project lock, taken once through
`changes_state`. Three take it narrower: init has no project to lock yet, push only reads
local state, and train holds it while registering (versions.register), not for the hours it
trains. Read-only commands (views.py, status.py) never take it and never delete anything."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from adapterctl.core.project import Project

F = TypeVar("F", bound=Callable[..., Any])


def changes_state(fn: F) -> F:
    """Run `fn(project, ...)` holding the project lock, after sweeping what interrupted
    registrations left (versions.changing, which layers below ops enter directly).
    Re-entrant: ops may call each other."""

    @functools.wraps(fn)
    def locked(project: Project, *args: Any, **kwargs: Any) -> Any:
        from adapterctl import versions

        with versions.changing(project):
            return fn(project, *args, **kwargs)

    return locked  # type: ignore[return-value]
