"""A comparison as a list of document blocks, and those blocks as markdown or one HTML page.

`diff --md`, `report` and `report --html` all say the same thing; only the rendering
differs. The output holds no timestamps or machine paths, so the same commits give the
same text on any machine (a fresh CI clone included).
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    kind: str  # h | p | table | pre | details | curve
    text: str = ""
    level: int = 2
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


def h(text: str, level: int = 2) -> Block:
    return Block("h", text, level)


def p(text: str) -> Block:
    return Block("p", text)


def table(columns: list[str], rows: list[list[Any]]) -> Block:
    return Block("table", columns=columns, rows=rows)


def pre(text: str) -> Block:
    return Block("pre", text)


def details(summary: str, children: list[Block]) -> Block:
    return Block("details", summary, children=children)


def curve(title: str, series: dict[str, list[tuple[int, float]]]) -> Block:
    return Block("curve", title, series=series)


# ── markdown ──────────────────────────────────────────────────────────────────


def markdown(blocks: list[Block]) -> str:
    return "\n".join(_md(b) for b in blocks).rstrip() + "\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value is not None else ""


def _md(b: Block) -> str:
    if b.kind == "h":
        return f"{'#' * b.level} {b.text}\n"
    if b.kind == "p":
        return f"{b.text}\n"
    if b.kind == "table":
        lines = ["| " + " | ".join(b.columns) + " |", "|" + "---|" * len(b.columns)]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in b.rows]
        return "\n".join(lines) + "\n"
    if b.kind == "pre":
        fence = "````" if "```" in b.text else "```"
        return f"{fence}text\n{b.text}\n{fence}\n"
    if b.kind == "details":
        inner = "\n".join(_md(c) for c in b.children)
        return f"<details><summary>{html_lib.escape(b.text)}</summary>\n\n{inner}\n</details>\n"
    if b.kind == "curve":
        return _mermaid(b)
    raise ValueError(b.kind)


def _mermaid(b: Block) -> str:
    """A mermaid xychart (GitHub renders it in PR comments); one line per series, forward-filled
    onto the union of steps."""
    steps = sorted({s for points in b.series.values() for s, _ in points})
    if not steps:
        return ""
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{b.text}"',
        f"    x-axis [{', '.join(map(str, steps))}]",
        '    y-axis "loss"',
    ]
    legend = []
    for i, (label, points) in enumerate(b.series.items(), start=1):
        values, last, known = [], points[0][1] if points else 0.0, dict(points)
        for s in steps:
            last = known.get(s, last)
            values.append(f"{last:.4f}")
        lines.append(f"    line [{', '.join(values)}]")
        legend.append(f"line {i}: {label}")
    return "\n".join(lines) + "\n```\n" + f"_{'; '.join(legend)}_\n"


# ── html ──────────────────────────────────────────────────────────────────────

_STYLE = """body{font:14px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}pre{background:#f7f7f7;padding:.5em;white-space:pre-wrap}
details{margin:.3em 0 .8em}img{max-width:100%}"""


def html_page(title: str, blocks: list[Block]) -> str:
    body = "\n".join(_html(b) for b in blocks)
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html_lib.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def html(b: Block) -> str:
    """One block as an HTML fragment (curves as an inline PNG), for pages that embed a report."""
    return _html(b)


def _html(b: Block) -> str:
    esc = html_lib.escape
    if b.kind == "h":
        return f"<h{b.level}>{esc(b.text)}</h{b.level}>"
    if b.kind == "p":
        return f"<p>{_inline(b.text)}</p>"
    if b.kind == "table":
        head = "".join(f"<th>{esc(c)}</th>" for c in b.columns)
        rows = "".join("<tr>" + "".join(f"<td>{_inline(_cell(v))}</td>" for v in r) + "</tr>" for r in b.rows)
        return f"<table><tr>{head}</tr>{rows}</table>"
    if b.kind == "pre":
        return f"<pre>{esc(b.text)}</pre>"
    if b.kind == "details":
        return f"<details><summary>{esc(b.text)}</summary>{''.join(_html(c) for c in b.children)}</details>"
    if b.kind == "curve":
        return f'<img alt="{esc(b.text)}" src="data:image/png;base64,{_png(b)}">'
    raise ValueError(b.kind)


def _inline(text: str) -> str:
    """Escape, then the little markdown the blocks use: `code` and **bold**."""
    import re

    out = html_lib.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def _png(b: Block) -> str:
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    for label, points in b.series.items():
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(b.text)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode()
