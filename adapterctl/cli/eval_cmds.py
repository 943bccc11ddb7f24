"""eval: metrics, intervals against the base, and gates; sheet: human eval out and in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui
from adapterctl.core.errors import CheckFailed

LIMIT = typer.Option(
    0,
    "--limit",
    "-n",
    min=0,
    help="Use the first N eval rows only (0: no limit of its own; the manifest's eval.limit applies).",
)
REF = typer.Argument(..., help="The version: NAME, NAME@<id>, NAME@<env> or NAME@~N.")

sheet_app = typer.Typer(help="Human eval: export a sheet to rate, import the ratings.", no_args_is_help=True)
app.add_typer(sheet_app, name="sheet")


@app.command("eval")
def eval_(
    refs: list[str] = typer.Argument(
        None, help="Versions to evaluate: NAME, NAME@<id>, NAME@<env> or NAME@~N.", show_default=False
    ),
    all_adapters: bool = typer.Option(
        False, "--all", help="Evaluate the latest version of every adapter that has one."
    ),
    limit: int = LIMIT,
    rerun: bool = typer.Option(False, "--rerun", help="Run again even if results for this eval set and spec exist."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Evaluate versions on their eval set, compare with the base model, and check the gates.

    Generation metrics (ROUGE, BLEU, chrF, exact match; accuracy and macro-F1 with labels) come from batched greedy decoding; eval loss and perplexity are teacher-forced over completion tokens. Deltas against the base carry a 95% paired-bootstrap interval. Results are stored beside the card (commit them): a second eval of the same version on the same data is instant. Exits 1 when a gate fails.

    Human eval: `adapterctl sheet export` writes a CSV to rate; `adapterctl sheet import` stores the ratings.

    Example: adapterctl eval support --limit 50
    """
    evals = api.evaluate(
        api.open_project(project), refs or [], all_adapters=all_adapters, limit=limit or None, rerun=rerun
    )
    ui.emit(evals, as_json, _render)
    for note in dict.fromkeys(n for e in evals for n in e.notes):
        ui.warn(note)
    failed = [e for e in evals if not e.passed]
    if failed:
        detail = "; ".join(f"{e.ref}: {', '.join(e.failed)}" for e in failed)
        raise CheckFailed(f"eval gates failed: {detail}")


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


@sheet_app.command("export", short_help="Write a sheet of answers to rate 1-5.")
def sheet_export(
    ref: str = REF,
    out: Path = typer.Argument(..., help="The CSV file to write."),
    limit: int = LIMIT,
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Write a human-eval sheet: prompt, reference, base and adapter answers, and empty 1-5 columns for accuracy, style and safety.

    The answers come from the version's eval (run now unless stored). Rate each row, then `adapterctl sheet import`.

    Example: adapterctl sheet export support@prod rate.csv --limit 50
    """
    rows = api.export_sheet(api.open_project(project), ref, out, limit=limit or None)
    ui.emit(
        {"sheet": str(out), "rows": rows},
        as_json,
        lambda r: ui.success(f"wrote {r['rows']} rows to {r['sheet']}: rate them 1-5, then `adapterctl sheet import`"),
    )


@sheet_app.command("import", short_help="Store a rated sheet's summary in the card.")
def sheet_import(
    ref: str = REF,
    sheet: Path = typer.Argument(..., help="A sheet written by `sheet export`, with its 1-5 columns filled in."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Store the rating summary of a filled-in sheet in the version's card (diff and report show it).

    Example: adapterctl sheet import support@prod rate.csv
    """
    summary = api.import_sheet(api.open_project(project), ref, sheet)
    ui.emit(
        summary,
        as_json,
        lambda s: ui.table(
            ["answer", "criterion", "mean", "rated"],
            [(who, c, f"{v['mean']:.2f}", v["n"]) for who in ("adapter", "base") for c, v in s.get(who, {}).items()],
        ),
    )
