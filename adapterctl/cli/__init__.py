"""The `adapterctl` command line: parse, call `adapterctl.api`, render. Nothing else.

Errors are mapped to exit codes in one place, `AdapterctlGroup.invoke`, by the table in
`adapterctl.errors`. Users see one line; `--traceback` shows the stack.
"""

from __future__ import annotations

import signal
import sys

import typer
from typer.core import TyperGroup

from adapterctl import __version__, ui
from adapterctl.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, AdapterctlError, Terminated

_state = {"traceback": False}


class AdapterctlGroup(TyperGroup):
    """Maps every AdapterctlError raised by any subcommand to its exit code and one line."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from adapterctl.cli import metavars

        metavars.clean(self)  # `--set KEY=VALUE`, not `--set <list[str]>`

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)  # the order they were registered: the order of the workflow


app = typer.Typer(
    cls=AdapterctlGroup,
    name="adapterctl",
    help="Git for LoRA adapters: declare adapters in adapterctl.toml, train them into immutable "
    "versions, gate them on evals, deploy and roll back by moving environment pointers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


# Importing these modules registers their commands on `app`, in workflow order.
from adapterctl.cli import manifest_cmds, data_cmds, train_cmds, eval_cmds, version_cmds, env_cmds, transfer_cmds  # noqa: E402,F401,I001
from adapterctl.cli import merge_cmds, report_cmds  # noqa: E402,F401,I001
from adapterctl.cli import serve_cmds  # noqa: E402,F401
from adapterctl.cli import ui_cmds  # noqa: E402,F401


def _terminate(signum, frame) -> None:  # noqa: ARG001
    raise Terminated("terminated")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C (context managers release the
    lock and remove temporary files) and exits 143; `serve` installs its own drain."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(args=argv, prog_name="adapterctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
