"""A Comparison as document blocks: the sections of `diff --md` and of each adapter in `report`."""

from __future__ import annotations

import json
from typing import Any

from adapterctl.evaluation.bootstrap import MIN_ROWS
from adapterctl.report import blocks as B
from adapterctl.report.compare import Comparison

TEXT_LIMIT = 400  # characters of a prompt or output shown per row


def comparison(c: Comparison, *, level: int = 2) -> list[B.Block]:
    out: list[B.Block] = []
    out += _gates(c, level)
    out += _metrics(c, level)
    out += _moved(c, level)
    out += _ratings(c, level)
    out += _spec(c, level)
    out += _data(c, level)
    out += _weights(c, level)
    out += _curves(c, level)
    out += [B.p(f"_Note: {n}_") for n in c.notes]
    return out


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _signed(v: float | None) -> str:
    return "-" if v is None else f"{v:+.4g}"


def _gates(c: Comparison, level: int) -> list[B.Block]:
    if not c.gates:
        return []
    rows = [
        [
            g.metric,
            f"`{g.rule}`",
            _num(g.b_value),
            _num(g.b_threshold),
            g.a,
            f"**{g.b}**",
            "flipped" if g.flipped else "",
        ]
        for g in c.gates
    ]
    return [B.h("Gates", level + 1), B.table(["metric", "gate", "value", "threshold", c.a.label, c.b.label, ""], rows)]


def _metrics(c: Comparison, level: int) -> list[B.Block]:
    if not c.metrics:
        return []
    rows = []
    for m in c.metrics:
        interval = f"[{_signed(m.low)}, {_signed(m.high)}]" if m.low is not None else "-"
        rows.append([m.metric, _num(m.a), _num(m.b), _signed(m.delta), interval, m.verdict or "-"])
    caption = (
        f"Deltas are {c.b.label} − {c.a.label} with 95% paired-bootstrap intervals over "
        f"{c.rows_compared} eval rows; **noise** when the interval contains 0."
    )
    if 0 < c.rows_compared < MIN_ROWS:
        caption = (
            f"Deltas are {c.b.label} − {c.a.label} over {c.rows_compared} eval rows: **too few rows** "
            f"(fewer than {MIN_ROWS}) for an interval or a verdict."
        )
    return [
        B.h("Metrics", level + 1),
        B.p(caption),
        B.table(["metric", c.a.label, c.b.label, "Δ", "95% CI", "verdict"], rows),
    ]


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " …"


def _moved(c: Comparison, level: int) -> list[B.Block]:
    out: list[B.Block] = []
    for title, moved in (("Top regressions", c.regressed), ("Top improvements", c.improved)):
        if not moved:
            continue
        out.append(B.h(f"{title} ({moved[0].metric} per row)", level + 1))
        for i, m in enumerate(moved, start=1):
            out.append(
                B.details(
                    f"{i}. {m.metric} {m.a_score:.3f} → {m.b_score:.3f}",
                    [
                        B.p("**Prompt**"),
                        B.pre(_clip(m.prompt)),
                        B.p("**Reference**"),
                        B.pre(_clip(m.reference)),
                        B.table(
                            [c.a.label, c.b.label], [[_clip(m.a_output) or "(empty)", _clip(m.b_output) or "(empty)"]]
                        ),
                    ],
                )
            )
    return out


def _ratings(c: Comparison, level: int) -> list[B.Block]:
    if not c.ratings:
        return []
    rows = []
    for label, summary in c.ratings.items():
        for who, scores in (("adapter", summary.adapter), ("base", summary.base)):
            for criterion, score in (scores or {}).items():
                rows.append([label, who, criterion, _num(score.mean), score.n])
    return [B.h("Human ratings (1-5)", level + 1), B.table(["version", "answer", "criterion", "mean", "rated"], rows)]


def _spec(c: Comparison, level: int) -> list[B.Block]:
    if not c.a.card or not c.b.card:
        return []
    if not c.spec_changes:
        return [B.h("Spec changes", level + 1), B.p("none")]
    rows = [[f"`{k}`", _value(old), _value(new)] for k, old, new in c.spec_changes]
    return [B.h("Spec changes", level + 1), B.table(["key", c.a.label, c.b.label], rows)]


def _value(v: Any) -> str:
    return "(unset)" if v is None else json.dumps(v) if not isinstance(v, str) else v


def _data(c: Comparison, level: int) -> list[B.Block]:
    if not c.data:
        return []
    rows = [
        [
            d["role"],
            d["path"],
            _num(d["old_rows"]),
            _num(d["new_rows"]),
            "changed" if d["changed"] else "same",
            (d["new_md5"] or "")[:12],
        ]
        for d in c.data
    ]
    out = [
        B.h("Data", level + 1),
        B.table(["role", "file", f"rows ({c.a.label})", f"rows ({c.b.label})", "", "md5"], rows),
    ]
    for rc in c.data_rows or []:
        if rc.note:
            out.append(B.p(f"{rc.role} `{rc.path}`: {rc.note}"))
            continue
        out.append(B.p(f"{rc.role} `{rc.path}`: {rc.added} rows added, {rc.removed} removed, {rc.changed} changed"))
        for kind in ("changed", "added", "removed"):
            for ex in rc.examples.get(kind, []):
                text = (
                    f"- {json.dumps(ex[0], ensure_ascii=False)}\n+ {json.dumps(ex[1], ensure_ascii=False)}"
                    if kind == "changed"
                    else f"{'+' if kind == 'added' else '-'} {json.dumps(ex, ensure_ascii=False)}"
                )
                out.append(B.pre(_clip(text) if kind != "changed" else text[: 2 * TEXT_LIMIT]))
    return out


def _weights(c: Comparison, level: int) -> list[B.Block]:
    if c.weights is None:
        return []
    rows = [
        [
            f"`{w.module}`",
            _num(w.norm_a),
            _num(w.norm_b),
            _num(w.relative_change),
            _num(w.cosine),
            _num(w.effective_rank_b),
        ]
        for w in c.weights
    ]
    return [
        B.h("Weights (ΔW = scale·B·A per module)", level + 1),
        B.table(
            [
                "module",
                f"‖ΔW‖ {c.a.label}",
                f"‖ΔW‖ {c.b.label}",
                "relative change",
                "cosine",
                f"effective rank {c.b.label}",
            ],
            rows,
        ),
    ]


def _curves(c: Comparison, level: int) -> list[B.Block]:
    series = {
        label: [(int(p["step"]), float(p["val_loss"])) for p in points if "val_loss" in p]
        for label, points in c.curves.items()
    }
    series = {k: v for k, v in series.items() if v}
    if not series:
        return []
    return [B.h("Loss curves", level + 1), B.curve("val loss", series)]


def as_json(c: Comparison) -> dict[str, Any]:
    """The comparison for --json, each side's per-row results summarised (they can be 10,000 rows)."""
    from adapterctl.core import ui

    out = ui.to_jsonable({k: v for k, v in vars(c).items() if k not in ("a", "b")})
    for name in ("a", "b"):
        side = getattr(c, name)
        r = side.result
        out[name] = {
            "label": side.label,
            "version": side.card.id if side.card else None,
            "eval_key": r.key if r else None,
            "rows": len(r.rows) if r else 0,
            "metrics": side.metrics,
        }
    return out
