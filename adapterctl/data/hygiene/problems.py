"""What a check finds: one `Problem` per row and check, in the shape `data check --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every check, in the order the text output lists them. The manifest's [defaults.data] has a
# severity key of the same name for each (see manifest.DataCheckSpec).
CHECKS = (
    "schema",
    "leakage",
    "near_leakage",
    "duplicate",
    "near_duplicate",
    "contradiction",
    "debris",
    "length",
    "pii",
    "style",
    "tags",
)
ERROR, WARNING, OFF = "error", "warning", "off"


@dataclass
class Problem:
    check: str
    file: str  # project-relative path
    line: int  # 1-based line of the row in `file` (row number for Parquet and JSON arrays)
    message: str
    related_lines: list[int] = field(default_factory=list)  # in the file the message names, else `file`
    severity: str = WARNING  # set from the manifest once every check has run

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "related_lines": list(self.related_lines),
        }


def excerpt(text: str, limit: int = 60) -> str:
    """A short one-line quote of `text` for messages."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
