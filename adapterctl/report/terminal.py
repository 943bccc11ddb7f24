"""Document blocks (blocks.py) drawn for a terminal: headings, boxed tables, indented
details, and each loss curve as one line of numbers instead of a mermaid chart.

`diff` prints this by default; `--md` gives the markdown for a PR comment or a file.
"""

from __future__ import annotations

import re
from typing import Any

from adapterctl.report.blocks import Block

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_([^_]+)_(?![\w*])")


def render(blocks: list[Block], console: Any) -> None:
    for b in blocks:
        _draw(b, console, indent=0)


def _text(markdown: str) -> Any:
    """A line of the blocks' little markdown (`code`, **bold**, _italic_) as styled rich Text."""
    from rich.text import Text

    out = Text()
    pos = 0
    pattern = re.compile(f"{_CODE.pattern}|{_BOLD.pattern}|{_ITALIC.pattern}")
    for m in pattern.finditer(markdown):
        out.append(markdown[pos : m.start()])
        code, bold, italic = m.groups()
        if code is not None:
            out.append(code, style="cyan")
        elif bold is not None:
            out.append(bold, style="bold")
        else:
            out.append(italic, style="italic")
        pos = m.end()
    out.append(markdown[pos:])
    return out


def _draw(b: Block, console: Any, indent: int) -> None:
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    def show(renderable: Any) -> None:
        console.print(Padding(renderable, (0, 0, 0, indent)) if indent else renderable, highlight=False)

    if b.kind == "h":
        show(Text(""))
        heading = _text(b.text)
        heading.stylize("bold underline" if b.level <= 3 else "bold")
        show(heading)
    elif b.kind == "p":
        show(_text(b.text))
    elif b.kind == "table":
        table = Table(show_lines=False, header_style="bold")
        for column in b.columns:
            table.add_column(column, overflow="fold")
        for row in b.rows:
            table.add_row(*(_text("" if v is None else str(v)) for v in row))
        show(table)
    elif b.kind == "pre":
        show(Text(b.text))
    elif b.kind == "details":
        show(Text(f"▸ {b.text}", style="bold"))
        for child in b.children:
            _draw(child, console, indent + 2)
    elif b.kind == "curve":
        show(Text(b.text, style="bold"))
        for label, points in b.series.items():
            if points:
                first, last = points[0], points[-1]
                low = min(points, key=lambda p: p[1])
                show(
                    Text(
                        f"  {label}: {first[1]:.4f} at step {first[0]} → {last[1]:.4f} at step {last[0]} "
                        f"(lowest {low[1]:.4f} at step {low[0]}; {len(points)} points)"
                    )
                )
    else:
        raise ValueError(b.kind)
