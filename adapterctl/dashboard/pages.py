"""The data of the overview, adapter and environment pages, from the CLI's own answers
(api.log, api.status, api.environments, api.metric_intervals) and the registry. Nothing
here computes a number the CLI does not: it selects and arranges."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any

from adapterctl.core.errors import AdapterctlError
from adapterctl.core.project import Project
from adapterctl.core.refs import short
from adapterctl.core.tomlread import tomllib
from adapterctl.store import environments, gitio
from adapterctl.versions.card import Card
from adapterctl.versions.registry import Registry

CURVES_SHOWN = 3  # loss curves drawn by default: the newest versions that have one


@dataclass
class Move:
    at: str
    action: str
    from_short: str
    to_short: str
    to: str
    forced: bool
    message: str
    author: str
    commit: str  # "" when not committed yet


@dataclass
class Cell:
    """What one environment serves for one adapter."""

    env: str
    name: str
    version: str
    short: str
    since: str
    author: str
    forced: bool
    gate: str  # pass | FAIL | not evaluated | no gates | no card here
    moves: list[Move] = field(default_factory=list)


def gate_verdict(card: Card | None) -> str:
    if card is None:
        return "no card here"
    if card.gates is None:
        return "no gates"
    if card.gates.passed is None:
        return "not evaluated"
    return "pass" if card.gates.passed else "FAIL"


def me(project: Project) -> str:
    return gitio.user_name(project.root) or os.environ.get("GIT_AUTHOR_NAME") or getpass.getuser()


def moves_with_authors(project: Project, pointer: environments.Pointer) -> list[Move]:
    """The pointer's moves, newest first, each with the author of the commit that recorded it
    (the first commit whose copy of the file holds that many moves)."""
    rel = project.relpath(environments.pointer_path(project, pointer.env, pointer.name))
    counts = []
    for entry in gitio.file_history(project.root, rel):
        try:
            n = len(tomllib.loads(entry["text"]).get("moves", [])) if entry["text"] else 0
        except tomllib.TOMLDecodeError:
            n = 0
        counts.append((n, entry))
    out = []
    for i, m in enumerate(pointer.moves):
        recorded = next((e for n, e in counts if n > i), None)
        author, commit = (recorded["author"], recorded["commit"]) if recorded else (f"{me(project)}", "")
        out.append(
            Move(
                at=m.at,
                action=m.action,
                from_short=short(m.from_),
                to_short=short(m.to),
                to=m.to,
                forced=m.forced,
                message=m.message,
                author=author,
                commit=commit,
            )
        )
    return out[::-1]


def cell(project: Project, registry: Registry, pointer: environments.Pointer) -> Cell:
    moves = moves_with_authors(project, pointer)
    last = moves[0] if moves else None
    card = registry.by_id(pointer.name, pointer.version)
    return Cell(
        env=pointer.env,
        name=pointer.name,
        version=pointer.version,
        short=short(pointer.version),
        since=last.at if last else "",
        author=last.author if last else "",
        forced=last.forced if last else False,
        gate=gate_verdict(card.card if card else None),
        moves=moves,
    )


def overview(project: Project, api: Any) -> dict[str, Any]:
    registry = Registry(project)
    problem = ""
    try:
        declared = api.load_manifest(project).adapter_names
    except AdapterctlError as exc:  # still show what the registry holds, and say why the rest is missing
        declared, problem = [], str(exc)
    names = sorted(set(declared) | set(registry.names()))
    envs = sorted(registry.envs)
    grid = {
        (p.env, p.name): cell(project, registry, p) for adapters in registry.envs.values() for p in adapters.values()
    }
    status = {s.name: s for s in api.status(project)} if declared else {}
    rows = []
    for name in names:
        history = registry.log(name)
        latest = history[0] if history else None
        rows.append(
            {
                "name": name,
                "cells": [grid.get((env, name)) for env in envs],
                "versions": len(history),
                "latest": latest,
                "status": status.get(name),
                "data_check": latest.card.data_check if latest else None,
            }
        )
    return {"envs": envs, "rows": rows, "problem": problem}


def adapter(project: Project, api: Any, live: Any, name: str, curves: list[str] | None) -> dict[str, Any]:
    registry = Registry(project)
    entries = api.log(project, name)  # raises "no adapter named" / "no versions yet" as the CLI does
    cards = {v.id: v.card for v in registry.log(name)}
    columns = _metric_columns([e.metrics for e in entries])
    intervals = live.memo(("intervals", name), lambda: api.metric_intervals(project, name))
    oldest_first = entries[::-1]
    charts = []
    for metric in columns:
        points = [
            {
                "x": i,
                "short": e.short,
                "value": e.metrics.get(metric),
                "low": intervals.get(e.id, {}).get(metric, {}).get("low"),
                "high": intervals.get(e.id, {}).get(metric, {}).get("high"),
            }
            for i, e in enumerate(oldest_first)
        ]
        if any(p["value"] is not None for p in points):
            charts.append({"metric": metric, "points": points})
    with_curves = [e.id for e in entries if cards[e.id].loss_history()]
    chosen = (
        [vid for vid in with_curves if any(vid.startswith(c) for c in curves)] if curves else with_curves[:CURVES_SHOWN]
    )
    loss = {cards[vid].ref: cards[vid].loss_history() for vid in chosen}
    return {
        "name": name,
        "entries": entries,
        "cards": cards,
        "columns": columns,
        "charts": charts,
        "loss": loss,
        "chosen": set(chosen),
        "envs": sorted(registry.envs) or ["prod"],
    }


def _metric_columns(all_metrics: list[dict[str, Any]]) -> list[str]:
    """Metric names in the order first seen, scalar eval metrics before nested ones (val.loss)."""
    seen: dict[str, None] = {}
    for m in all_metrics:
        seen.update(dict.fromkeys(m))
    return sorted(seen, key=lambda k: ("." in k, k))


def environment(project: Project, api: Any, env: str) -> dict[str, Any]:
    registry = Registry(project)
    api.environments(project, env=env)  # an unknown environment: the CLI's error, with a did-you-mean
    out = []
    for name, pointer in sorted(registry.envs.get(env, {}).items()):
        c = cell(project, registry, pointer)
        previous = registry.previous(env, name)
        served = dict.fromkeys(m.to for m in c.moves if m.to and m.to != pointer.version)
        targets = [registry.by_id(name, vid) for vid in served]
        out.append(
            {
                "cell": c,
                "previous": registry.by_id(name, previous) if previous else None,
                "previous_id": previous,
                "targets": [t for t in targets if t is not None],
            }
        )
    return {"env": env, "pointers": out}
