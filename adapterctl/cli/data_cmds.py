"""data check, data fix: hygiene of an adapter's training and eval data before it is trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui
from adapterctl.core.errors import CheckFailed

data_app = typer.Typer(help="Check training data, and write a cleaned copy.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("check", short_help="Check an adapter's data before it is trained on.")
def check(
    name: str = typer.Argument(..., help="The adapter whose data (data, val_data, eval_data) to check."),
    limit: int = typer.Option(
        10, "--limit", "-n", min=0, help="Problems listed per check in the text output (0: no limit)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Check again even if the files are unchanged."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Check an adapter's data: schema, duplicates and near-duplicates, train/eval leakage, debris, contradictions, length, PII, style, tags.

    Each check is an error or a warning, as the manifest's defaults.data and adapters.NAME.data_checks tables say. Exit 1 when there are errors: `train` refuses such data unless given --allow-data-errors. `adapterctl data fix` writes a cleaned copy. Line numbers are 1-based file lines.

    Example: adapterctl data check support --limit 0
    """
    report = api.data_check(api.open_project(project), name, use_cache=not no_cache)
    if as_json:
        ui.print_json(report.to_json())
    else:
        _render(report, limit)
    if report.errors:
        raise CheckFailed(f"{name}: {len(report.errors)} errors, {len(report.warnings)} warnings")


@data_app.command("fix", short_help="Write a cleaned copy of an adapter's data files.")
def fix(
    name: str = typer.Argument(..., help="The adapter whose data files (data, val_data, eval_data) to clean."),
    out: Path = typer.Argument(..., help="Folder for the cleaned copy: new or empty, inside the project."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Write a cleaned copy of an adapter's data files under OUT (same relative paths, JSONL) and a record of every change, with its input line, in OUT/fixes.jsonl; the inputs are never changed.

    Point the manifest at the cleaned files (or copy them over the inputs) when you are content with the changes.

    Example: adapterctl data fix support cleaned/
    """
    fixed = api.data_fix(api.open_project(project), name, out)
    ui.emit(fixed, as_json, _render_fix)


def _render(report: Any, limit: int) -> None:
    out = ui.out
    files = report.summary.get("files", {})
    out.print(", ".join(f"{rel}: {_rows(f)}" for rel, f in files.items()), markup=False)
    checks = report.summary.get("checks", {})
    for check, info in checks.items():
        mine = [p for p in report.problems if p.check == check]
        if not mine:
            continue
        out.print(f"\n[bold]{check}[/bold] ({info['severity']}): {len(mine)}")
        shown = mine if limit <= 0 else mine[:limit]
        for p in shown:
            out.print(f"  {p.file}:{p.line}  {p.message}", markup=False)
        if len(mine) > len(shown):
            out.print(f"  … and {len(mine) - len(shown)} more (--limit 0 or --json lists all)", markup=False)
    _render_lengths(report.summary.get("length", {}))
    for rel, tags in report.summary.get("tags", {}).items():
        counts = ", ".join(f"{t} {n}" for t, n in tags["counts"].items())
        out.print(f"\ntags in {rel} (`{tags['field']}`): {counts}; untagged {tags['untagged']}", markup=False)
    errors, warnings = report.summary.get("errors", 0), report.summary.get("warnings", 0)
    if not errors:  # with errors, the command fails with the counts
        cached = " (cached: the files are unchanged)" if report.cached else ""
        ui.success(f"no errors, {warnings} warnings{cached}")


def _rows(info: dict[str, Any]) -> str:
    if not info["rows"]:
        return "empty (no rows)"
    return f"{info['rows']} row{'s' if info['rows'] != 1 else ''} ({info['format'] or 'unknown format'})"


def _render_lengths(lengths: dict[str, Any]) -> None:
    if "skipped" in lengths:
        ui.warn(f"length check skipped: {lengths['skipped']}")
        return
    for rel, h in lengths.items():
        if "skipped" in h:
            ui.warn(f"length check of {rel} skipped: {h['skipped']}")
            continue
        ui.out.print(
            f"\ntokens in {rel}: min {h['min']}, median {h['median']:g}, p95 {h['p95']}, max {h['max']} "
            f"(max_length {h['max_length']}; {h['truncated']} truncated)",
            markup=False,
        )
        most = max((b["rows"] for b in h["histogram"]), default=0) or 1
        for b in h["histogram"]:
            ui.out.print(f"  {b['tokens']:>10} {b['rows']:>7}  {'█' * round(30 * b['rows'] / most)}", markup=False)


def _render_fix(fixed: Any) -> None:
    for f in fixed.files:
        ui.success(f"{f.written}: {f.rows_out} of {f.rows_in} rows ({f.dropped} dropped, {f.edited} edited)")
    ui.info(f"every change, with its input line: {fixed.report}")
