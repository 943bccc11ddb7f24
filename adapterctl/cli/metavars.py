"""Clean help metavars: `--set KEY=VALUE`, `--message TEXT`, `NAME`, and nothing after a flag;
and plain coercion for plain types (`_coerce`), in the same class swap.

Typer prints a parameter's Python type (`--force <bool>`, `--set <list[str]>`) and wraps
required arguments in braces (`{name}`). `clean(command)` rewrites a built click command tree
once, so every command gets the same style without a metavar repeated in each declaration.
"""

from __future__ import annotations

from typing import Any

from typer import _click as click  # typer vendors click; the click package itself costs 40 ms to import
from typer.core import TyperArgument, TyperOption

# Options whose value has a shape worth showing; others get a name from their type.
SHAPES = {
    "--set": "KEY=VALUE",
    "--grid": "KEY=V1,V2",
    "--env": "ENV",
    "--to": "REF",
    "--base": "GIT_REF",
    "--accelerate-config": "ddp|fsdp|cpu|YAML",
}


def _plain_runtime_param(param: Any) -> Any:
    """Plain types skip Typer's pydantic coercion layer (see _coerce); others keep it."""
    if param._runtime_param is None:
        from adapterctl.cli._coerce import plain_runtime

        param._runtime_param = plain_runtime(param.type_descriptor)
    return param._runtime_param


class _Argument(TyperArgument):
    def get_runtime_param(self) -> Any:
        return _plain_runtime_param(self) or super().get_runtime_param()

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"

    def display_type_rich(self, ctx: Any) -> str | None:  # typer's own (vendored) click.Context
        return None  # the NAME already says what to pass


class _Option(TyperOption):
    def get_runtime_param(self) -> Any:
        return _plain_runtime_param(self) or super().get_runtime_param()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else self.metavar


def _option_metavar(option: TyperOption) -> str:
    for opt in option.opts:
        if opt in SHAPES:
            return SHAPES[opt]
    desc = option.type_descriptor
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    if desc.annotation in (int, float):
        return "N"
    return "TEXT"


def clean(command: Any) -> None:
    """Give every parameter in `command` (and its subcommands) a plain metavar."""
    for param in command.params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument  # same fields; only the two display methods differ
            name = (param.name or "").upper()
            param.metavar = name if param.nargs == 1 else f"{name}..."
        elif isinstance(param, TyperOption) and not isinstance(param, _Option):
            param.__class__ = _Option
            if not param.is_flag and param.metavar is None:
                param.metavar = _option_metavar(param)
    _clean_help_option(command)
    for sub in getattr(command, "commands", {}).values():
        clean(sub)


def _clean_help_option(command: click.Command) -> None:
    """click builds --help on demand, outside `params`: clean it as it is made."""
    make = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if isinstance(option, TyperOption) and not isinstance(option, _Option):
            option.__class__ = _Option
        return option

    command.get_help_option = get_help_option  # type: ignore[method-assign]
