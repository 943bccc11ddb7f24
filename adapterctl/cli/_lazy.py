"""Lazy loading for the CLI: a command's module is imported only when that command runs.

`LazyGroup` is hatch's LazyGroup idea on Typer: the group knows every command's name, module
and one-line summary from a table (`adapterctl.cli.COMMANDS`), lists them in `--help` from
that table, and imports a module only when one of its commands is asked for. So `adapterctl
list` loads `manifest_cmds` and nothing of `train`, `serve` or `merge`.

`api` is the same idea for the Python API: imported on first attribute use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import typer.main
from typer import _click
from typer.core import TyperGroup


class LazyModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


api: Any = LazyModule("adapterctl.api")


class LazyGroup(TyperGroup):
    """A Typer group whose commands come from a table {name: (module, summary)}.

    Subclasses set `table`, `package` (where the modules live), `typer_app` (the Typer the
    modules register on with `@app.command()` / `app.add_typer`) and `prepare` (run on every
    command built, e.g. to clean metavars)."""

    table: dict[str, tuple[str, str]] = {}
    package: str = ""
    typer_app: typer.Typer | None = None
    prepare: Callable[[_click.Command], None] = staticmethod(lambda command: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, command in self.commands.items():  # built eagerly: their modules were imported already
            self._summarise(name, command)
        self.prepare(self)  # the group's own options, and those commands

    def _summarise(self, name: str, command: _click.Command) -> None:
        if name in self.table:
            command.short_help = command.short_help or self.table[name][1]

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.table)  # the table's order: the order of the workflow

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.table:
            self._load(cmd_name)
        return self.commands.get(cmd_name)

    def _load(self, name: str) -> None:
        module, _summary = self.table[name]
        importlib.import_module(f"{self.package}.{module}")
        assert self.typer_app is not None
        built = _build(self.typer_app, name)
        if built is None:
            raise RuntimeError(f"{self.package}.{module} registers no command named {name!r}")
        self._summarise(name, built)
        self.prepare(built)
        self.commands[name] = built

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """`--help` lists the table's summaries without importing any command module."""
        rows = [(name, summary) for name, (_module, summary) in self.table.items()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: _click.Context, args: list[str]):
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            from adapterctl.core.suggest import closest

            close = closest(args[0], self.table) if args else None
            if close:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean '{close}'?"
            raise


def _build(app: typer.Typer, name: str) -> _click.Command | None:
    """The click command or group registered on `app` under `name`."""
    for info in app.registered_commands:
        if (info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))) == name:
            return typer.main.get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
            )
    for group in app.registered_groups:
        if group.name == name:
            return typer.main.get_group_from_info(
                group,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands,
            )
    return None
