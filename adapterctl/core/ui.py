"""The one console: data to stdout (a table or JSON), messages and progress to stderr.

`out` and `err` are rich consoles made on first use: a command that prints only JSON, or
nothing, never imports rich (the fast commands stay fast).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_consoles: dict[str, Any] = {}


def __getattr__(name: str) -> Any:  # ui.out, ui.err: made when first used
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _consoles:
        from rich.console import Console

        if name == "out":
            # Piped output gets a wide table rather than rich's 80-column default; COLUMNS still wins.
            width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
            _consoles[name] = Console(soft_wrap=True, highlight=False, width=width)
        else:
            # Piped messages are not hard-wrapped at 80 columns: one message, one line, for logs and grep.
            _consoles[name] = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())
    return _consoles[name]


def _err() -> Any:
    return __getattr__("err")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths and the like, as plain JSON values."""
    import dataclasses
    from pathlib import PurePath

    if hasattr(value, "to_json") and not isinstance(value, type):  # a view that chooses its own shape
        return to_jsonable(value.to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON for machines, or through `render` for people."""
    if as_json:
        print_json(data)
    else:
        render(data)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    from rich.table import Table

    t = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    __getattr__("out").print(t)


def info(message: str) -> None:
    _err().print(message, markup=False)


def success(message: str) -> None:
    _err().print(f"[green]✓[/green] {_escape(message)}")


def warn(message: str) -> None:
    _err().print(f"[yellow]warning:[/yellow] {_escape(message)}")


def error(message: str) -> None:
    _err().print(f"[red]error:[/red] {_escape(message)}", soft_wrap=True)


def interactive() -> bool:
    return _err().is_terminal and not os.environ.get("CI")


def progress(total: int, description: str, *, enabled: bool = True):
    """A rich progress bar on stderr for interactive terminals; elsewhere nothing is drawn.
    A context manager yielding `advance(n)`."""
    import contextlib

    @contextlib.contextmanager
    def bar():
        if not enabled or not interactive():
            yield lambda n=1: None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=_err(),
            transient=True,
        ) as p:
            task = p.add_task(description, total=total)
            yield lambda n=1: p.advance(task, n)

    return bar()


def transfer_progress(description: str):
    """A live "files n/N, bytes" line on stderr for interactive terminals (nothing elsewhere).
    A context manager yielding `update(files, files_total, nbytes)`; safe to call from threads."""
    import contextlib

    @contextlib.contextmanager
    def line():
        if not interactive():
            yield lambda files, total, nbytes: None
            return
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.fields[files]}"),
            TextColumn("{task.fields[size]}"),
            TimeElapsedColumn(),
            console=_err(),
            transient=True,
        ) as p:
            task = p.add_task(description, total=None, files="", size="")

            def update(files: int, total: int, nbytes: int) -> None:
                p.update(task, files=f"{files}/{total} files", size=human_bytes(nbytes))

            yield update

    return line()


def server_log(name: str) -> None:
    """Send logger `name` (a long-running server's: adapterctl.serve, adapterctl.dashboard) to stderr,
    one timestamped line per record, once per process."""
    import logging

    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def human_bytes(n: int) -> str:
    """1234567 -> '1.2 MB' (decimal units, as file managers and cloud consoles show)."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"
