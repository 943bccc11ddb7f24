"""`adapterctl report --base GIT_REF` and `adapterctl check --base GIT_REF`, from git alone.

A version is *new on this branch* when its card is in the working tree but not at GIT_REF.
For each adapter with new versions, the newest is compared with what the environment (prod)
served at GIT_REF; failing that, with the newest version there; failing that, with the base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl import manifest
from adapterctl.core.errors import AdapterctlError, RefError, UsageError
from adapterctl.core.project import Project
from adapterctl.evaluation.gates import needs_eval
from adapterctl.report import blocks as B
from adapterctl.report import compare, render
from adapterctl.report.source import Card, Source, latest_eval


@dataclass
class AdapterReport:
    name: str
    new_versions: list[str]  # refs, newest first
    comparison: compare.Comparison
    any_base: list[str] = field(default_factory=list)  # new versions imported with --any-base
    base_unhashed: list[str] = field(default_factory=list)  # new versions whose card could not hash the base
    declared_gates: dict[str, str] = field(default_factory=dict)  # the manifest's, judged or not


@dataclass
class Report:
    base_ref: str
    env: str
    adapters: list[AdapterReport] = field(default_factory=list)

    def blocks(self) -> list[B.Block]:
        out = [B.h(f"adapterctl report: this branch vs `{self.base_ref}`", 2)]
        if not self.adapters:
            return out + [B.p(f"No new adapter versions on this branch since `{self.base_ref}`.")]
        rows = []
        for a in self.adapters:
            c = a.comparison
            gates = ", ".join(f"{g.metric} {g.b}" for g in c.gates)
            if not gates and a.declared_gates:
                declared = ", ".join(f"{m} {rule}" for m, rule in a.declared_gates.items())
                gates = f"not evaluated ({declared})"
            gates = gates or "none declared"
            moved = ", ".join(f"{m.metric} {m.verdict}" for m in c.metrics if m.verdict in ("better", "worse"))
            rows.append([a.name, ", ".join(a.new_versions), c.a.label, gates, moved or "no significant change"])
        out.append(B.table(["adapter", "new versions", "compared with", "gates", "significant changes"], rows))
        notes = (
            (
                [ref for a in self.adapters for ref in a.any_base],
                "Imported with `--any-base`",
                "Their own configs named another base; the manifest's base was taken on the importer's word.",
            ),
            (
                [ref for a in self.adapters for ref in a.base_unhashed],
                "Base not hashed",
                "The base was not on the machine that registered them, so their cards cannot prove which "
                "base weights they were trained on.",
            ),
        )
        out += [B.p(f"**{title}:** {', '.join(refs)}. {why}") for refs, title, why in notes if refs]
        for a in self.adapters:
            c = a.comparison
            out += [B.h(f"{a.name}: {c.b.label} vs {c.a.label}", 3), *render.comparison(c, level=3)]
        return out


def new_cards(head: Source, base: Source, name: str) -> list[Card]:
    known = {c.id for c in base.cards(name)}
    return [c for c in head.cards(name) if c.id not in known]


def report(project: Project, base_ref: str, *, env: str = "prod") -> Report:
    head, base = Source(project), Source(project, base_ref)
    out = Report(base_ref, env)
    at_base = base.environments()
    _check_env(project, env, at_base, head)
    served = at_base.get(env, {})
    for name in head.adapter_names():
        new = new_cards(head, base, name)
        if not new:
            continue
        newest = new[0]
        entry = latest_eval(newest)
        key = entry["key"] if entry else None
        before = base.cards(name)
        ref_card = next((c for c in before if c.id == served.get(name)), None)
        if ref_card is not None:
            label = f"{env} = {ref_card.ref}"
        elif before:
            ref_card, label = before[0], f"{base_ref}: {before[0].ref}"
        if ref_card is not None:
            same_key = key if latest_eval(ref_card, key) else None
            side_a = compare.Side(label, ref_card, base.result(ref_card, same_key))
        else:
            side_a = compare.Side("base model", None, head.baseline(newest, key) if key else None)
        side_b = compare.Side(newest.ref, newest, head.result(newest, key))
        c = compare.compare(name, side_a, side_b, samples=_samples(project, name, newest))
        out.adapters.append(
            AdapterReport(
                name,
                [card.ref for card in new],
                c,
                any_base=[card.ref for card in new if card.training.any_base],
                base_unhashed=[card.ref for card in new if card.base.hash_unknown],
                declared_gates=_declared_gates(project, name),
            )
        )
    return out


def _samples(project: Project, name: str, card: Card) -> int:
    samples = card.spec.eval.samples
    return 3 if samples is None else samples


@dataclass
class CheckProblem:
    ref: str
    problem: str


def _declared_gates(project: Project, name: str) -> dict[str, str]:
    try:
        section = manifest.load(project.manifest_path).raw_adapters.get(name)
    except AdapterctlError:
        return {}
    return dict(section.gates) if section else {}


def _check_env(project: Project, env: str, at_base: dict[str, Any], head: Source) -> None:
    """--env must be an environment name that exists at the base, here, or in the manifest;
    the default `prod` may not exist yet (the first PR compares with the base model)."""
    from adapterctl.core.refs import is_env_name
    from adapterctl.core.suggest import closest

    if not is_env_name(env):
        raise UsageError(f"--env {env}: not an environment name (a letter, then letters, digits, '-', '_')")
    try:
        declared = set(manifest.load(project.manifest_path).environments)
    except AdapterctlError:
        declared = set()
    known = set(at_base) | set(head.environments()) | declared
    if env in known or env == "prod":
        return
    close = closest(env, sorted(known))
    hint = f"; did you mean '{close}'?" if close else f" (environments: {', '.join(sorted(known)) or 'none yet'})"
    raise RefError(f"--env {env}: no environment named '{env}' at the base or here{hint}")


def check(project: Project, base_ref: str) -> list[CheckProblem]:
    """Every new version on this branch that was never evaluated or failed its gates."""
    head, base = Source(project), Source(project, base_ref)
    try:
        m = manifest.load(project.manifest_path)
    except AdapterctlError:
        m = None
    problems = []
    for name in head.adapter_names():
        declared = m.raw_adapters.get(name) if m else None
        gates = declared.gates if declared else {}
        for card in new_cards(head, base, name):
            recorded = card.gates
            if recorded is not None and recorded.passed is False:
                problems.append(CheckProblem(card.ref, f"failed its gates: {', '.join(recorded.failed)}"))
            elif why := needs_eval(card, gates):
                problems.append(
                    CheckProblem(card.ref, f"{why}: run `adapterctl eval {card.ref}` and commit the results")
                )
            elif not gates and latest_eval(card) is None:
                problems.append(CheckProblem(card.ref, f"never evaluated: run `adapterctl eval {card.ref}` and commit"))
    return problems
