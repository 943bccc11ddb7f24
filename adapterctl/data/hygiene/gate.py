"""The check `train` passes first: refuse data with errors unless forced, and the summary the
version card records (`data_check` in the card)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from adapterctl.core import ui
from adapterctl.core.errors import DataError
from adapterctl.core.project import Project
from adapterctl.data.hygiene import checker
from adapterctl.manifest import AdapterSpec, BaseSection


def for_training(project: Project, spec: AdapterSpec, base: BaseSection, *, force: bool = False) -> dict[str, Any]:
    """The card's `data_check` record; raises DataError (exit 2) on errors unless `force`."""
    report = checker.check(project, spec, base, require_heldout=False)
    for rel in report.summary.get("not_checked", []):
        ui.warn(
            f"{spec.name}: {rel} is not on this machine, so leakage into it was not checked "
            "(`adapterctl pull` fetches it)"
        )
    errors = report.errors
    if errors and not force:
        raise DataError(
            f"{spec.name}: data check found {len(errors)} error{'s' if len(errors) > 1 else ''}, "
            f"nothing was trained: {_where(errors)}; see `adapterctl data check {spec.name}`, "
            "or pass --allow-data-errors to train anyway"
        )
    if errors:
        ui.warn(
            f"{spec.name}: training despite {len(errors)} data-check errors (--allow-data-errors): {_where(errors)}; "
            "the version card records the override"
        )
    elif report.warnings:
        ui.info(
            f"{spec.name}: data check: no errors, {len(report.warnings)} warnings "
            f"(`adapterctl data check {spec.name}` lists them)"
        )
    counts: dict[str, int] = defaultdict(int)
    for p in report.problems:
        counts[p.check] += 1
    return {
        "passed": not errors,
        "errors": len(errors),
        "warnings": len(report.warnings),
        "problems": dict(counts),
        "forced": bool(errors) and force,
    }


def _where(errors) -> str:
    """'leakage at data/x.jsonl lines 5, 17; schema at data/x.jsonl line 29'."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for p in errors:
        groups[(p.check, p.file)].append(p.line)
    parts = []
    for (check, file), lines in groups.items():
        shown = ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
        parts.append(f"{check} at {file} line{'s' if len(lines) > 1 else ''} {shown}")
    return "; ".join(parts)
