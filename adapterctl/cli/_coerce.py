"""Plain coercion for plain parameters: str, int, float, bool, Path, Literal choices and lists of them.

Typer coerces every option value through a pydantic TypeAdapter built on first use; loading
that layer and building the adapters costs more than all of `adapterctl list`'s own work.
Parameters of these plain types are converted here instead, with the same rules (a number
must parse, a choice must be one of its values, min/max hold); anything else (a custom
parser, path checks such as exists=True) keeps Typer's own coercion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from typer import _click
from typer._coercion import RuntimeParam

_SCALARS = (str, int, float, bool, Path)
_TRUE, _FALSE = {"1", "true", "t", "yes", "y", "on"}, {"0", "false", "f", "no", "n", "off"}


def plain_runtime(descriptor: Any) -> RuntimeParam | None:
    """A RuntimeParam for `descriptor` when its type is plain, else None (use Typer's)."""
    info = descriptor.parameter_info
    if info.parser is not None or info.clamp or not info.case_sensitive or _path_checks(info):
        return None
    annotation = descriptor.annotation
    item = get_args(annotation)[0] if get_origin(annotation) is list and get_args(annotation) else annotation
    if item in _SCALARS or get_origin(item) is Literal:
        return _PlainParam(parameter_info=info, annotation=annotation, item=item)
    return None


def _path_checks(info: Any) -> bool:
    return bool(
        info.exists
        or info.resolve_path
        or info.writable
        or not info.file_okay
        or not info.dir_okay
        or info.path_type is not None
    )


@dataclass(frozen=True)
class _PlainParam(RuntimeParam):
    item: Any = str

    def _coerce_value(self, value: Any, param: Any, ctx: _click.Context) -> Any:
        if isinstance(value, (list, tuple)):
            return [self._one(v, param, ctx) for v in value]
        return self._one(value, param, ctx)

    def _one(self, value: Any, param: Any, ctx: _click.Context) -> Any:
        item = self.item
        if get_origin(item) is Literal:
            choices = get_args(item)
            if value not in choices:
                names = ", ".join(repr(c) for c in choices)
                raise _click.exceptions.BadParameter(f"{value!r} is not one of {names}.", ctx=ctx, param=param)
            return value
        if item is str:
            return str(value)
        if item is Path:
            return value if isinstance(value, Path) else Path(value)
        if item is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in _TRUE | _FALSE:
                return str(value).lower() in _TRUE
            raise _click.exceptions.BadParameter(f"{value!r} is not true or false.", ctx=ctx, param=param)
        try:
            number = item(value)
        except (TypeError, ValueError):
            kind = "a whole number" if item is int else "a number"
            raise _click.exceptions.BadParameter(f"{value!r} is not {kind}.", ctx=ctx, param=param) from None
        info = self.parameter_info
        if info.min is not None and number < info.min:
            raise _click.exceptions.BadParameter(
                f"{number} is below the least allowed, {info.min}.", ctx=ctx, param=param
            )
        if info.max is not None and number > info.max:
            raise _click.exceptions.BadParameter(
                f"{number} is above the most allowed, {info.max}.", ctx=ctx, param=param
            )
        return number
