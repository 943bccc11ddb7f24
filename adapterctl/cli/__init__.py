"""The `adapterctl` command line: parse, call `adapterctl.api`, render. Nothing else.

Commands are registered in `COMMANDS`, one line each, in the order of the workflow (the
order `adapterctl --help` lists them): the command's name, the module under adapterctl/cli/
that defines it, and the one-line summary `--help` shows. A command's module is imported
only when that command runs (`_lazy.LazyGroup`, hatch's LazyGroup idea), so `adapterctl
list` pays for the manifest and nothing of train, eval, merge or serve.

To add a command:
1. define it in a module here with `@app.command()` (`from adapterctl.cli import app`), or a
   group of subcommands as a Typer added with `app.add_typer(sub, name="NAME")`; keep the
   module's top-level imports light (typer, `_options`, `_lazy.api`): heavy work is imported
   inside the function that runs;
2. add its line to `COMMANDS` where it belongs in the workflow, e.g.
   `"verify": ("serve_cmds", "Replay eval rows against a live endpoint."),`
3. run `python -m adapterctl.cli.docgen` (docs/cli.md is generated).
A test checks that every line loads a command with help, an example and --json.

Errors are mapped to exit codes in one place, `AdapterctlGroup.invoke`, by the table in
`adapterctl.core.errors`. Users see one line; `--traceback` shows the stack.
"""

from __future__ import annotations

import os
import signal
import sys

import typer

from adapterctl import __version__
from adapterctl.cli._lazy import LazyGroup
from adapterctl.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, AdapterctlError, Terminated

# name: (module under adapterctl/cli/, the one-line summary `adapterctl --help` lists)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("manifest_cmds", "Scaffold a project: git, DVC, manifest, template, CI workflow."),
    "add": ("manifest_cmds", "Declare a new adapter in adapterctl.toml."),
    "list": ("manifest_cmds", "List the adapters the manifest declares."),
    "show": ("manifest_cmds", "Show an adapter's resolved spec, or a version's card."),
    "validate": ("manifest_cmds", "Check the manifest: keys, types, ranges, names, files."),
    "data": ("data_cmds", "Check training data, and write a cleaned copy."),
    "train": ("train_cmds", "Train adapters from their specs into new versions."),
    "sweep": ("train_cmds", "Train a grid of candidates and rank them by val loss."),
    "eval": ("eval_cmds", "Evaluate versions, compare with the base, check the gates."),
    "sheet": ("eval_cmds", "Human eval: export a sheet to rate, import the ratings."),
    "import": ("version_cmds", "Adopt an existing PEFT adapter folder as a version."),
    "log": ("version_cmds", "Version history of an adapter, newest first."),
    "status": ("version_cmds", "Which adapters are up to date, stale (and why) or untrained."),
    "deploy": ("env_cmds", "Point an environment at a version; the move is logged."),
    "rollback": ("env_cmds", "Move an environment back to its previous version."),
    "envs": ("env_cmds", "What each environment serves, and its history of moves."),
    "resolve": ("transfer_cmds", "Print the local folder of a verified version."),
    "push": ("transfer_cmds", "Upload versions' weights to the DVC remote."),
    "pull": ("transfer_cmds", "Fetch versions' weights from the DVC remote, verified."),
    "gc": ("transfer_cmds", "Remove local copies of versions nothing needs."),
    "merge": ("merge_cmds", "Bake a version into its base weights, verified."),
    "combine": ("merge_cmds", "Combine versions into a new version (PEFT weighted adapters)."),
    "export": ("merge_cmds", "Export a version for a serving engine: peft, merged or vllm."),
    "diff": ("report_cmds", "What changed between two versions: spec, data, metrics, weights."),
    "report": ("report_cmds", "The PR report: this branch's versions against a git revision."),
    "check": ("report_cmds", "Exit 1 when a version new on this branch fails or lacks eval (CI)."),
    "serve": ("serve_cmds", "Serve an environment over an OpenAI-compatible HTTP API."),
    "generate": ("serve_cmds", "Print one answer from a version, streamed."),
    "verify": ("serve_cmds", "Check that a live endpoint answers as its environment was evaluated."),
    "sync": ("serve_cmds", "Make an environment's vLLM server serve what it points at."),
    "ui": ("ui_cmds", "A local dashboard of adapters, versions, metrics and environments."),
}

_state = {"traceback": False}


class AdapterctlGroup(LazyGroup):
    """Maps every AdapterctlError raised by any subcommand to its exit code and one line."""

    table = COMMANDS
    package = "adapterctl.cli"

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        from adapterctl.core import ui

        try:
            return super().invoke(ctx)
        except AdapterctlError as exc:
            if _state["traceback"]:
                raise
            ui.error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            if _state["traceback"]:
                raise
            ui.error("interrupted")
            ctx.exit(EXIT_INTERRUPTED)

    @staticmethod
    def prepare(command) -> None:
        from adapterctl.cli import metavars

        metavars.clean(command)  # `--set KEY=VALUE`, not `--set <list[str]>`


app = typer.Typer(
    cls=AdapterctlGroup,
    name="adapterctl",
    help="Git for LoRA adapters: declare adapters in adapterctl.toml, train them into immutable "
    "versions, gate them on evals, deploy and roll back by moving environment pointers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: `--help` never imports rich
    context_settings={"help_option_names": ["-h", "--help"]},
)
AdapterctlGroup.typer_app = app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adapterctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    traceback: bool = typer.Option(False, "--traceback", help="Show the full stack on errors (for bug reports)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["traceback"] = traceback


def _terminate(signum, frame) -> None:  # noqa: ARG001
    raise Terminated("terminated")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C (context managers release the
    lock and remove temporary files) and exits 143; `serve` installs its own drain."""
    signal.signal(signal.SIGTERM, _terminate)
    # pydantic looks for plugins by scanning every installed distribution's entry points
    # (20 ms on each command); the CLI uses none. PYDANTIC_DISABLE_PLUGINS set by the user wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app(args=argv, prog_name="adapterctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
