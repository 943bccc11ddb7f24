"""The data of the version, compare and branch-report pages: `show REF`, the version's
committed eval rows, `diff A B` and `report --base REF`, as the CLI computes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapterctl.core.project import Project
from adapterctl.versions.card import Card
from adapterctl.versions.registry import Registry

PAGE_ROWS = 50  # eval rows per page of the version page's table
TEXT_LIMIT = 600  # characters of a prompt, reference or output shown in a table cell


@dataclass
class RowsView:
    rows: list[dict[str, Any]]  # this page's rows
    total: int  # rows in the results file
    matched: int  # rows matching the search
    scores: list[str]  # per-row score columns
    sort: str  # the score sorted by ("" = file order)
    descending: bool
    query: str
    page: int
    pages: int


def card_sections(card: Card) -> dict[str, Any]:
    """The card as the page groups it: spec keys flattened, data files, base, libraries, files,
    and the training record without its loss curve (the page plots it)."""
    flat: dict[str, Any] = {}

    def walk(value: dict[str, Any], prefix: str) -> None:
        for k, v in value.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                flat[f"{prefix}{k}"] = v

    walk(card.spec.to_dict(), "")
    return {
        "spec": flat,
        "data": card.data.to_dict(),
        "base": card.base.to_dict(),
        "libraries": card.libraries.to_dict(),
        "files": card.files.to_json() if card.files else {},
        "training": card.training.without_history(),
    }


def score_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Per-row scores that are plain numbers (bleu and chrf rows carry statistics, not scores)."""
    if not rows:
        return []
    first = rows[0]
    return [k for k, v in first.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


def rows_view(result: Any, *, query: str, sort: str, descending: bool, page: int) -> RowsView:
    rows = result.rows if result else []
    scores = score_columns(rows)
    needle = query.strip().lower()
    matched = [
        r
        for r in rows
        if not needle
        or needle in str(r.get("prompt", "")).lower()
        or needle in str(r.get("reference", "")).lower()
        or needle in str(r.get("output", "")).lower()
    ]
    if sort in scores:
        matched = sorted(matched, key=lambda r: r.get(sort, 0.0), reverse=descending)
    else:
        sort = ""
    pages = max(1, -(-len(matched) // PAGE_ROWS))
    page = min(max(page, 1), pages)
    shown = matched[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    return RowsView(shown, len(rows), len(matched), scores, sort, descending, query, page, pages)


def version(project: Project, api: Any, live: Any, ref: str, **table: Any) -> dict[str, Any]:
    page = live.memo(("version", ref), lambda: _version(project, api, live, ref))
    return {**page, "table": rows_view(page["result"], **table)}


def _version(project: Project, api: Any, live: Any, ref: str) -> dict[str, Any]:
    view = api.show_version(project, ref)  # raises the CLI's error for an unknown ref
    registry = Registry(project)
    v = registry.resolve(ref)
    result = api.eval_results(project, v.ref)
    intervals = live.memo(("intervals", v.name), lambda: api.metric_intervals(project, v.name)).get(v.id, {})
    parent = registry.by_id(v.name, v.parent) if v.parent else None
    return {
        "view": view,
        "version": v,
        "card": v.card,
        "sections": card_sections(view.card),
        "metrics": v.card.scalar_metrics(),
        "intervals": intervals,
        "result": result,
        "parent": parent,
        "gate_rows": v.card.gates.checked if v.card.gates else [],
    }


def compare(project: Project, api: Any, live: Any, ref_a: str, ref_b: str) -> dict[str, Any]:
    registry = Registry(project)
    va, vb = registry.resolve(ref_a), registry.resolve(ref_b)
    c = live.memo(("diff", va.id, vb.id), lambda: api.diff(project, va.ref, vb.ref))
    return {"c": c, "a": va, "b": vb, "curves": _curves(c.curves)}


def _curves(curves: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {label: points for label, points in curves.items() if points}


def report(project: Project, api: Any, live: Any, base: str, env: str) -> dict[str, Any]:
    r = live.memo(("report", base, env), lambda: api.report(project, base, env=env))
    return {"report": r, "blocks": r.blocks(), "base": base, "env": env}
