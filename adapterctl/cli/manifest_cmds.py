"""init, add, list, show, validate: scaffolding and reading the manifest.

The read commands (list, show, validate) call `adapterctl.views` directly, not `api`, whose
import brings the state-changing operations: they must answer in well under 0.3 s.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT, SET
from adapterctl.core import ui
from adapterctl.core.errors import ManifestError, UsageError
from adapterctl.core.project import find_project
from adapterctl.core.refs import is_version_ref, short


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Folder to make into a project (created if missing)."),
    example: bool = typer.Option(
        False, "--example", help="Add the runnable example: two adapters on the built-in tiny model."
    ),
    base_model: str = typer.Option(
        None,
        "--base-model",
        help="Base model: a hub id or a local folder (default: the built-in tiny model).",
        show_default=False,
        metavar="MODEL",
    ),
    remote: str = typer.Option(
        None,
        "--remote",
        help="DVC remote for push/pull: a local folder or a URL (s3://, gs://, azure://, ssh://).",
        show_default=False,
    ),
    ci_requirement: str = typer.Option(
        None,
        "--ci-requirement",
        metavar="SPEC",
        help="What the CI workflow installs: a pin, a git URL or a wheel URL, optionally with "
        "--index-url/--extra-index-url (default: adapterctl==<this version>).",
        show_default=False,
    ),
    as_json: bool = JSON,
) -> None:
    """Scaffold a project: git, DVC, manifest, prompt template, .gitignore and CI workflow.

    Credentials for the remote never go in the project: set them with `dvc remote modify --local`
    (.dvc/config.local, ignored by git) or in the environment.

    Example: adapterctl init demo --example --remote s3://team-adapters/support --ci-requirement "adapterctl==0.1.0 --index-url https://pypi.corp.example/simple"
    """
    result = api.init(directory, example=example, base=base_model, remote=remote, ci_requirement=ci_requirement)

    def render(r: api.InitResult) -> None:
        ui.success(f"initialised adapterctl project in {r.root}")
        if r.adapters:
            ui.info(f"adapters: {', '.join(r.adapters)} (base: {r.base_model})")
        ui.info(f"next: cd {directory} && adapterctl validate")

    ui.emit(result, as_json, render)


@app.command()
def add(
    name: str = typer.Argument(..., help="Adapter name: letters, digits, '-' and '_'."),
    data: str = typer.Option(..., "--data", help="Training data file (JSONL, CSV or Parquet) inside the project."),
    eval_data: str = typer.Option(None, "--eval", help="Held-out eval set.", show_default=False),
    template: str = typer.Option(None, "--template", help="Prompt template file.", show_default=False),
    description: str = typer.Option("", "--description", "-d", help="One line on what it is for."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Declare a new adapter in adapterctl.toml (comments and formatting are kept).

    Example: adapterctl add billing --data data/billing.jsonl --eval evals/billing.jsonl
    """
    spec = api.add_adapter(
        api.open_project(project), name, data=data, eval_data=eval_data, template=template, description=description
    )
    ui.emit(spec.to_dict(), as_json, lambda _: ui.success(f"added adapter '{name}' to adapterctl.toml"))


@app.command("list")
def list_(project: Path = PROJECT, as_json: bool = JSON) -> None:
    """List the adapters the manifest declares.

    Example: adapterctl list --json
    """
    from adapterctl import views

    adapters = views.list_adapters(find_project(project))

    def render(rows: list[api.AdapterSummary]) -> None:
        if not rows:
            ui.info("no adapters declared yet: adapterctl add NAME --data PATH")
            return
        ui.table(
            ["adapter", "description", "data", "eval", "spec"],
            [(a.name, a.description, a.data, a.eval_data or "-", a.spec_hash) for a in rows],
        )

    ui.emit(adapters, as_json, render)


@app.command()
def show(
    ref: str = typer.Argument(
        ..., help="An adapter NAME (its resolved spec) or a version REF: NAME@<id>, NAME@<env>, NAME@~N (its card)."
    ),
    overrides: list[str] = SET,
    full: bool = typer.Option(False, "--full", help="Print a card's whole loss history, not its summary."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Show an adapter's resolved spec (defaults, its own tables and --set overrides applied),
    or with NAME@... a version's card: lineage, hashes, metrics. The card's loss history is
    summarised (steps; first, last and best loss) unless --full; --json always has all of it.

    Example: adapterctl show support --set train.learning_rate=1e-4
    """
    from adapterctl import views

    root = find_project(project)
    if is_version_ref(ref):
        if overrides:
            raise UsageError("--set applies to an adapter's spec, not to a version's card")
        ui.emit(views.show_version(root, ref), as_json, lambda card: _render_card(card, full))
        return
    spec = views.show_spec(root, ref, overrides)
    ui.emit(spec, as_json, _render_spec)


def _render_spec(view: api.SpecView) -> None:
    import tomli_w

    from adapterctl.versions.card import without_none

    body = without_none({k: v for k, v in view.to_json().items() if k not in ("name", "latest")})
    latest = f"  latest {short(view.latest)}" if view.latest else "  no versions yet"
    ui.out.print(f"[bold]{view.spec['name']}[/bold]  spec {short(view.spec_hash)}{latest}")
    ui.out.print(tomli_w.dumps(body), markup=False, highlight=False)


def _render_card(view: api.VersionView, full: bool = False) -> None:
    import tomli_w

    from adapterctl.train import curve

    served = f"  serving: {', '.join(view.environments)}" if view.environments else ""
    where = view.path if view.local else "not local (adapterctl pull)"
    ui.out.print(f"[bold]{view.ref}[/bold]  {where}{served}")
    body = view.card.to_dict()
    history = view.card.loss_history()
    if history and not full:  # the per-step points are most of a card: summarise them
        body["training"] = {**body["training"], "history": curve.summary(history)}
    ui.out.print(tomli_w.dumps(body), markup=False, highlight=False)
    if history and not full:
        ui.info(f"training.history: {len(history)} points summarised; --full prints them all")


@app.command()
def validate(project: Path = PROJECT, as_json: bool = JSON) -> None:
    """Check the manifest: keys, types, ranges, adapter names and the files it names.

    Exit 0 when valid; otherwise exit 2 after listing every problem, one line each naming the file, line and key (--json lists them under "errors").

    Example: adapterctl validate
    """
    from adapterctl import views

    report = views.validate(find_project(project))
    if as_json:
        ui.print_json(report)
    else:
        for warning in report.warnings:
            ui.warn(warning)
        for problem in report.errors[:-1]:  # one line each; the last is the exit's own line
            ui.error(problem)
        if report.valid:
            ui.success(f"{report.manifest} is valid ({len(report.adapters)} adapters)")
        else:
            raise ManifestError(report.errors[-1])
    if not report.valid:
        raise ManifestError(f"{Path(report.manifest).name}: {len(report.errors)} problem(s)")
