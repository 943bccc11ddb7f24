"""The one `tomllib` import: the standard library from Python 3.11, `tomli` before it."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

loads = tomllib.loads
TOMLDecodeError = tomllib.TOMLDecodeError


def has_conflict_markers(text: str) -> bool:
    """Whether a file still holds the markers an unresolved git merge leaves."""
    return any(
        line.startswith(("<<<<<<< ", ">>>>>>> ")) or line in ("<<<<<<<", "=======") for line in text.splitlines()
    )


__all__ = ["TOMLDecodeError", "has_conflict_markers", "loads", "tomllib"]
