"""diff, report, check: reviewing what changed, locally and in CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui
from adapterctl.core.errors import CheckFailed, UsageError

Format = Literal["text", "md", "json"]
FORMAT = typer.Option(
    "text", "--format", "-f", help="What to print: text for the terminal, md for a PR comment or a file, json."
)


def _format(fmt: str, as_json: bool, md: bool = False) -> str:
    """One output format from --format and its shorthands --json (every command has it) and --md."""
    asked = {f for f, on in (("json", as_json), ("md", md)) if on} | ({fmt} if fmt != "text" else set())
    if len(asked) > 1:
        raise UsageError(f"choose one output format, not {' and '.join(sorted(asked))}")
    return asked.pop() if asked else "text"


@app.command()
def diff(
    ref_a: str = typer.Argument(..., help="The version to compare from, e.g. support@prod."),
    ref_b: str = typer.Argument(..., help="The version to compare to, e.g. support."),
    fmt: Format = FORMAT,
    md: bool = typer.Option(False, "--md", hidden=True, help="Short for --format md."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """What changed between two versions: spec keys, data rows, metrics with 95% intervals, gates, per-module weights, and the eval rows that moved most.

    Old data is read from the DVC cache; weights must be local (`adapterctl pull REF`). Drawn for the terminal; --format md prints markdown for a PR comment, --format json (or --json) the data.

    Example: adapterctl diff support@prod support --format md > diff.md
    """
    out = _format(fmt, as_json, md)
    from adapterctl.report import blocks, render

    p = api.open_project(project)
    same = api.same_version(p, ref_a, ref_b)
    if same is not None:
        ui.emit(
            {"same_version": True, "a": ref_a, "b": ref_b, "version": same},
            out == "json",
            lambda r: ui.info(f"{ref_a} and {ref_b} are the same version ({same}): nothing differs"),
        )
        return
    c = api.diff(p, ref_a, ref_b)
    if out == "json":
        ui.print_json(render.as_json(c))
        return
    doc = [blocks.h(f"{c.b.label} vs {c.a.label}", 2), *render.comparison(c)]
    if out == "md":
        _write(blocks.markdown(doc))
    else:
        from adapterctl.report import terminal

        terminal.render(doc, ui.out)


@app.command()
def report(
    base: str = typer.Option(..., "--base", help="The git revision to compare with, e.g. origin/main."),
    env: str = typer.Option("prod", "--env", "-e", help="Compare with the version this environment served at --base."),
    fmt: Format = FORMAT,
    md: bool = typer.Option(False, "--md", hidden=True, help="Old spelling of --format md."),
    html: Path = typer.Option(
        None, "--html", help="Also write one self-contained HTML page (plots embedded) here.", show_default=False
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """The PR report: each adapter's newest version on this branch against the version the --env environment served at --base (the base model where it served none).

    Gates, metric deltas with 95% paired-bootstrap intervals, top regressions and improvements with their texts, spec and data changes, loss curves. Reads committed cards and eval results only: no weights, no GPU, no DVC.

    Example: adapterctl report --base origin/main --format md > report.md
    """
    out = _format(fmt, as_json, md)
    from adapterctl.report import blocks

    if html is not None and html.is_dir():
        raise UsageError(f"--html {html}: is a folder; name the .html file to write")
    r = api.report(api.open_project(project), base, env=env)
    doc = r.blocks()
    if html is not None:
        from adapterctl.core.project import atomic_write

        try:
            atomic_write(html, blocks.html_page(f"adapterctl report vs {base}", doc))
        except OSError as exc:
            raise UsageError(f"--html {html}: cannot write there ({exc.strerror})") from None
        ui.success(f"wrote {html}")
    if out == "json":
        from adapterctl.report import render

        ui.print_json(
            {
                "base_ref": r.base_ref,
                "env": r.env,
                "adapters": [
                    {"name": a.name, "new_versions": a.new_versions, "comparison": render.as_json(a.comparison)}
                    for a in r.adapters
                ],
            }
        )
    elif out == "md":
        _write(blocks.markdown(doc))
    elif html is None:
        ui.out.print(blocks.markdown(doc), markup=False, highlight=False)


@app.command()
def check(
    base: str = typer.Option(..., "--base", help="The git revision this branch started from, e.g. origin/main."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Exit 1 when a version new on this branch was never evaluated or failed its gates (for CI).

    Example: adapterctl check --base origin/main
    """
    problems = api.check(api.open_project(project), base)
    ui.emit(problems, as_json, _render_problems)
    if problems:
        raise CheckFailed(f"{len(problems)} new version(s) not ready: {problems[0].ref}: {problems[0].problem}")
    if not as_json:
        ui.success(f"every new version since {base} is evaluated and passes its gates")


def _render_problems(problems: list[Any]) -> None:
    for p in problems:
        ui.info(f"{p.ref}: {p.problem}")


def _write(text: str) -> None:
    import sys

    sys.stdout.write(text)
    sys.stdout.flush()
