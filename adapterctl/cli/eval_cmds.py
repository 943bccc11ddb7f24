"""eval: metrics, intervals against the base, and gates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from adapterctl import ui
from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.errors import CheckFailed, UsageError


@app.command("eval")
def eval_(
    refs: list[str] = typer.Argument(
        None, help="Versions to evaluate: NAME, NAME@<id>, NAME@<env> or NAME@~N.", show_default=False
    ),
    all_adapters: bool = typer.Option(
        False, "--all", help="Evaluate the latest version of every adapter that has one."
    ),
    limit: int = typer.Option(
        None, "--limit", help="Evaluate on the first N eval rows only (overrides eval.limit).", show_default=False
    ),
    force: bool = typer.Option(False, "--rerun", help="Run again even if results for this eval set and spec exist."),
    export_sheet: Path = typer.Option(
        None,
        "--export-sheet",
        help="Write a human-eval CSV: prompt, reference, base "
        "and adapter answers, empty 1-5 columns for accuracy, style, safety.",
        show_default=False,
    ),
    import_sheet: Path = typer.Option(
        None,
        "--import-sheet",
        help="Store the rating summary of a filled-in sheet in the card (diff and report show it).",
        show_default=False,
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Evaluate versions on their eval set, compare with the base model, and check the gates.

    Generation metrics (ROUGE, BLEU, chrF, exact match; accuracy and macro-F1 with labels) come from batched greedy decoding; eval loss and perplexity are teacher-forced over completion tokens. Deltas against the base carry a 95% paired-bootstrap interval. Results are stored beside the card (commit them): a second eval of the same version on the same data is instant. Exits 1 when a gate fails.

    Human eval: --export-sheet writes a CSV to rate; --import-sheet stores the filled-in ratings' summary in the card.

    Example: adapterctl eval support --limit 50
    """
    if export_sheet or import_sheet:
        _sheet(refs or [], export_sheet, import_sheet, limit, project, as_json)
        return
    evals = api.evaluate(api.open_project(project), refs or [], all_adapters=all_adapters, limit=limit, force=force)
    ui.emit(evals, as_json, _render)
    for note in dict.fromkeys(n for e in evals for n in e.notes):
        ui.warn(note)
    failed = [e for e in evals if not e.passed]
    if failed:
        detail = "; ".join(f"{e.ref}: {', '.join(e.failed)}" for e in failed)
        raise CheckFailed(f"eval gates failed: {detail}")


def _sheet(
    refs: list[str], export: Path | None, imported: Path | None, limit: int | None, project: Path | None, as_json: bool
) -> None:
    if len(refs) != 1 or (export and imported):
        raise UsageError("--export-sheet and --import-sheet take exactly one version, one option at a time")
    p = api.open_project(project)
    if export:
        rows = api.export_sheet(p, refs[0], export, limit=limit)
        ui.emit(
            {"sheet": str(export), "rows": rows},
            as_json,
            lambda r: ui.success(f"wrote {r['rows']} rows to {r['sheet']}: rate them 1-5, then --import-sheet"),
        )
        return
    summary = api.import_sheet(p, refs[0], imported)
    ui.emit(
        summary,
        as_json,
        lambda s: ui.table(
            ["answer", "criterion", "mean", "rated"],
            [(who, c, f"{v['mean']:.2f}", v["n"]) for who in ("adapter", "base") for c, v in s.get(who, {}).items()],
        ),
    )


def _render(evals: list[Any]) -> None:
    for e in evals:
        source = "cached results" if e.cached else f"{e.seconds:.1f}s"
        ui.out.print(f"{e.ref}  ({e.rows} rows, {source}; results in {e.results})", markup=False)
        rows = []
        for name, value in e.metrics.items():
            d = e.vs_base.get(name)
            interval = ""
            if d:
                interval = f"{d.delta:+.4g} [{d.low:+.4g}, {d.high:+.4g}]" if d.low is not None else f"{d.delta:+.4g}"
            rows.append((name, f"{value:.4g}", _num(e.base_metrics.get(name)), interval, d.verdict if d else ""))
        ui.table(["metric", "value", "base", "Δ vs base [95% CI]", "verdict"], rows)
        if e.gates.results:
            ui.table(
                ["gate", "value", "threshold", "against", "verdict"],
                [
                    (f"{r.metric} {r.rule}", _num(r.value), _num(r.threshold), r.reference, r.verdict)
                    for r in e.gates.results
                ],
            )
        if e.gates.results and e.passed:
            ui.success(f"{e.ref}: all {len(e.gates.results)} gate(s) passed")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
