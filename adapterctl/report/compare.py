"""What changed from version A to version B, from their cards and committed eval results:
spec keys, data files, metrics (with paired-bootstrap intervals), gate verdicts, the eval
rows that moved most, human ratings and loss curves. `diff` adds weights and row-level data
changes (weights.py, data_diff.py); `report` uses this alone, so it runs from git."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import manifest
from adapterctl.evaluation import bootstrap, metrics, results
from adapterctl.report.source import Card
from adapterctl.versions.card import GateCheck, HumanEval

ROW_METRICS = ("rouge_l", "rouge1", "chrf", "bleu", "exact_match", "eval_loss")


@dataclass
class Side:
    label: str  # e.g. "prod = support@3f2a9c1e" or "base model"
    card: Card | None  # None for the base model alone
    result: results.EvalResult | None

    @property
    def metrics(self) -> dict[str, float]:
        return self.result.metrics if self.result else {}


@dataclass
class MetricRow:
    metric: str
    a: float | None
    b: float | None
    delta: float | None
    low: float | None
    high: float | None
    verdict: str  # better | worse | noise | "" (no interval)


@dataclass
class GateRow:
    metric: str
    rule: str
    a: str  # pass | FAIL | "-" (not checked)
    b: str
    b_value: float | None
    b_threshold: float | None

    @property
    def flipped(self) -> bool:
        return "-" not in (self.a, self.b) and self.a != self.b


@dataclass
class MovedRow:
    metric: str
    a_score: float
    b_score: float
    prompt: str
    reference: str
    a_output: str
    b_output: str


@dataclass
class Comparison:
    name: str
    a: Side
    b: Side
    spec_changes: list[tuple[str, Any, Any]]
    data: list[dict[str, Any]]  # per role: path, old/new md5 and rows, changed
    metrics: list[MetricRow]
    gates: list[GateRow]
    improved: list[MovedRow]
    regressed: list[MovedRow]
    curves: dict[str, list[dict[str, Any]]]  # side label → loss history
    ratings: dict[str, HumanEval]  # side label → human rating summary
    rows_compared: int = 0
    notes: list[str] = field(default_factory=list)
    weights: list[Any] | None = None  # diff only: weights.ModuleDiff per module
    data_rows: list[Any] | None = None  # diff only: data_diff.RowChanges per role


def compare(name: str, a: Side, b: Side, *, samples: int = 3) -> Comparison:
    notes = []
    if a.result and b.result and a.result.key != b.result.key:
        notes.append(
            "the two were evaluated under different eval keys (eval set or spec changed): deltas use the rows both have"
        )
    metric_rows, rows_compared = _metrics(a, b)
    if not b.result:
        notes.append(f"{b.label} has no committed eval results: run `adapterctl eval` and commit them")
    improved, regressed = _moved(a, b, samples)
    return Comparison(
        name=name,
        a=a,
        b=b,
        spec_changes=spec_changes(a.card.spec.to_dict(), b.card.spec.to_dict()) if a.card and b.card else [],
        data=_data(a.card, b.card) if a.card and b.card else [],
        metrics=metric_rows,
        gates=_gates(a.card, b.card),
        improved=improved,
        regressed=regressed,
        curves={s.label: s.card.loss_history() for s in (a, b) if s.card},
        ratings={s.label: rated for s in (a, b) if s.card and (rated := s.card.human_eval())},
        rows_compared=rows_compared,
        notes=notes,
    )


def spec_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) for every leaf that differs (manifest.spec_changes)."""
    return [(c.key, c.old, c.new) for c in manifest.spec_changes(old, new)]


def _data(a: Card, b: Card) -> list[dict[str, Any]]:
    out = []
    da, db = a.data.to_dict(), b.data.to_dict()
    for role in sorted(set(da) | set(db)):
        old, new = da.get(role, {}), db.get(role, {})
        out.append(
            {
                "role": role,
                "path": new.get("path") or old.get("path", ""),
                "old_md5": old.get("md5", ""),
                "new_md5": new.get("md5", ""),
                "old_rows": old.get("rows"),
                "new_rows": new.get("rows"),
                "changed": old.get("md5") != new.get("md5") or old.get("path") != new.get("path"),
            }
        )
    return out


def _metrics(a: Side, b: Side) -> tuple[list[MetricRow], int]:
    names = [n for n in metrics.NAMES if n in a.metrics or n in b.metrics]
    deltas = bootstrap.deltas(names, a.result.rows, b.result.rows) if a.result and b.result else {}
    rows_compared = len(bootstrap.pair(a.result.rows, b.result.rows)) if a.result and b.result else 0
    out = []
    for n in names:
        d = deltas.get(n)
        if d is not None:
            out.append(MetricRow(n, d.a, d.b, d.delta, d.low, d.high, d.verdict))
        else:
            va, vb = a.metrics.get(n), b.metrics.get(n)
            delta = vb - va if va is not None and vb is not None else None
            out.append(MetricRow(n, va, vb, delta, None, None, ""))
    return out, rows_compared


def _gates(a: Card | None, b: Card | None) -> list[GateRow]:
    def verdicts(side: Card | None) -> dict[str, GateCheck]:
        return {g.metric: g for g in (side.gates.checked if side and side.gates else [])}

    va, vb = verdicts(a), verdicts(b)
    out = []
    for metric in list(dict.fromkeys([*vb, *va])):
        ga, gb = va.get(metric), vb.get(metric)
        out.append(
            GateRow(
                metric,
                (gb.rule if gb else "") or (ga.rule if ga else ""),
                ga.verdict if ga else "-",
                gb.verdict if gb else "-",
                gb.value if gb else None,
                gb.threshold if gb else None,
            )
        )
    return out


def _moved(a: Side, b: Side, samples: int) -> tuple[list[MovedRow], list[MovedRow]]:
    """The rows whose score moved most up and down, on the first row metric both carry."""
    if not a.result or not b.result or samples <= 0:
        return [], []
    pairs = bootstrap.pair(a.result.rows, b.result.rows)
    moves: list[tuple[float, MovedRow]] = []
    for metric in ROW_METRICS:  # the first that the rows carry and that moved at all
        if not pairs or not all(_has(metric, ra) and _has(metric, rb) for ra, rb in pairs):
            continue
        sign = 1 if metrics.higher_is_better(metric) else -1
        moves = []
        for ra, rb in pairs:
            sa, sb = _row_score(metric, ra), _row_score(metric, rb)
            moves.append(
                (
                    sign * (sb - sa),
                    MovedRow(
                        metric,
                        sa,
                        sb,
                        rb.get("prompt", ""),
                        rb.get("reference", ""),
                        ra.get("output", ""),
                        rb.get("output", ""),
                    ),
                )
            )
        if any(gain != 0 for gain, _ in moves):
            break
    moves.sort(key=lambda m: m[0])
    regressed = [m for gain, m in moves[:samples] if gain < 0]
    improved = [m for gain, m in reversed(moves[-samples:]) if gain > 0]
    return improved, regressed


def _has(metric: str, row: dict[str, Any]) -> bool:
    return ("loss" if metric == "eval_loss" else metric) in row


def _row_score(metric: str, row: dict[str, Any]) -> float:
    if metric == "eval_loss":
        return row["loss"][0] / max(row["loss"][1], 1)
    if metric in ("bleu", "chrf"):
        return metrics.corpus_from_stats(metric, row[metric])
    return float(row[metric])
