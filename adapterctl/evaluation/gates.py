"""Eval gates: `rouge_l = ">= 0.2"` (absolute) or `">= prod - 0.01"`, `"<= base"` (relative).

A relative gate compares with a reference model on the same eval set under the same eval
spec: the version an environment serves, or the base model alone. An environment that
serves nothing yet falls back to the base, with a note, so the first release is still
judged against something. The grammar is manifest.GATE; `validate` checks it.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapterctl.core.errors import ManifestError
from adapterctl.manifest import GATE

if TYPE_CHECKING:
    from adapterctl.versions.card import Card

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
BASE = "base"
# Environments a gate may name before their first deploy (the first release is then judged
# against the base, with a note); any other name must be declared or exist.
USUAL_ENVS = ("prod", "staging")


@dataclass(frozen=True)
class Rule:
    metric: str
    text: str
    op: str
    ref: str | None  # None: absolute; "base" or an environment name
    offset: float  # the number (absolute), or what is added to the reference's value

    def threshold(self, reference_value: float | None) -> float | None:
        if self.ref is None:
            return self.offset
        return None if reference_value is None else reference_value + self.offset


def parse(metric: str, text: str) -> Rule:
    m = GATE.match(text)
    if not m:
        raise ManifestError(f'gates.{metric}: {text!r} is not a gate ("OP NUMBER" or "OP REF [+|- NUMBER]")')
    if m["number"] is not None:
        return Rule(metric, text.strip(), m["op"], None, float(m["number"]))
    offset = float(m["offset"] or 0) * (-1 if m["sign"] == "-" else 1)
    return Rule(metric, text.strip(), m["op"], m["ref"], offset)


def rules(gates: Mapping[str, str]) -> list[Rule]:
    return [parse(metric, text) for metric, text in gates.items()]


@dataclass
class Reference:
    """What a relative gate compares with: its label ("base", "prod = support@3f2a…") and metrics."""

    label: str
    metrics: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class GateResult:
    metric: str
    rule: str
    value: float | None
    threshold: float | None
    reference: str  # "absolute", or the reference's label
    passed: bool
    note: str = ""

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "FAIL"


@dataclass
class GateReport:
    results: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[str]:
        return [f"{r.metric} {r.rule} (got {_fmt(r.value)})" for r in self.results if not r.passed]

    def for_card(self, key: str, gates: Mapping[str, str]) -> dict[str, Any]:
        """The card's [gates] table: deploy reads passed/failed, and `rules` to notice gates that
        changed since the eval."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "rules": dict(gates),
            "eval_key": key,
            "checked": [
                {
                    "metric": r.metric,
                    "rule": r.rule,
                    "value": r.value,
                    "threshold": r.threshold,
                    "reference": r.reference,
                    "verdict": r.verdict,
                    "note": r.note,
                }
                for r in self.results
            ],
        }


def check(gate_rules: list[Rule], values: Mapping[str, float], references: Mapping[str, Reference]) -> GateReport:
    """Judge every rule on `values`; `references` maps each ref a rule names to its Reference."""
    out = []
    for rule in gate_rules:
        value = values.get(rule.metric)
        reference = references.get(rule.ref) if rule.ref else None
        threshold = rule.threshold(reference.metrics.get(rule.metric) if reference else None)
        label = reference.label if reference else "absolute"
        note = reference.note if reference else ""
        if value is None:
            out.append(
                GateResult(
                    rule.metric,
                    rule.text,
                    None,
                    threshold,
                    label,
                    False,
                    f"{rule.metric} was not computed: add it to eval.metrics",
                )
            )
        elif threshold is None:
            out.append(
                GateResult(
                    rule.metric, rule.text, value, None, label, False, f"{label} has no {rule.metric} to compare with"
                )
            )
        else:
            out.append(
                GateResult(rule.metric, rule.text, value, threshold, label, bool(OPS[rule.op](value, threshold)), note)
            )
    return GateReport(out)


def unknown_references(m: Any, name: str, known_envs: set[str]) -> list[Exception]:
    """Errors for gates of adapter `name` whose reference is neither `base`, `prod`/`staging`,
    an environment the manifest declares, nor one that exists (`known_envs`): a typo such as
    `prdo` would otherwise be compared with the base and pass. `validate`, `train` and `eval`
    ask this."""
    from adapterctl.core.suggest import closest

    known = set(known_envs) | set(m.environments) | set(USUAL_ENVS)
    out: list[Exception] = []
    for rule in rules(m.raw_adapters[name].gates):
        if rule.ref is None or rule.ref == BASE or rule.ref in known:
            continue
        close = closest(rule.ref, sorted(known | {BASE}))
        hint = f"; did you mean '{close}'?" if close else f" (known: {', '.join(sorted(known | {BASE}))})"
        out.append(
            m.error_at(
                f"adapters.{name}.gates.{rule.metric}",
                f"{rule.text!r} compares with '{rule.ref}', which is neither base, prod, staging, a declared "
                f"[environments.{rule.ref}] nor an environment in environments/{hint}",
            )
        )
    return out


def needs_eval(card: Card, gates: Mapping[str, str]) -> str | None:
    """Why a version with `gates` declared cannot be deployed without --ignore-gates, or None."""
    if not gates:
        return None
    recorded = card.gates
    if recorded is None or recorded.passed is None:
        return "it has never been evaluated"
    if dict(recorded.rules if recorded.rules is not None else gates) != dict(gates):
        return "its gates changed since it was evaluated"
    return None


def _fmt(value: float | None) -> str:
    return "nothing" if value is None else f"{value:.4g}"
