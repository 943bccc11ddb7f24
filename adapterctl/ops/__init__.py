"""State-changing operations, one per module (as dvc/repo/*.py): scaffold, deploy, rollback,
transfer (push/pull), gc. Each takes the project lock once, through `changes_state`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from adapterctl.project import Project

F = TypeVar("F", bound=Callable)


def changes_state(fn: F) -> F:
    """Run `fn(project, ...)` holding the project lock, after sweeping what interrupted
    registrations left (versions.changing). Re-entrant: ops may call each other."""

    @functools.wraps(fn)
    def locked(project: Project, *args, **kwargs):
        from adapterctl import versions

        with versions.changing(project):
            return fn(project, *args, **kwargs)

    return locked  # type: ignore[return-value]
