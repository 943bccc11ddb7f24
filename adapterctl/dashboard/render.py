"""Templates (jinja2, autoescaped) and the little formatting every page shares."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from adapterctl.core.refs import short

HERE = Path(__file__).parent
FILE_IN_MESSAGE = re.compile(r"((?:/[^\s:'\"]+|[\w.-]+(?:/[\w.@-]+)+)\.(?:toml|jsonl|json|lock))")


@functools.lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        short=short, num=num, signed=signed, when=when, clip=clip, tojson_attr=tojson_attr, block_html=block_html
    )
    return env


def page(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def num(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def signed(value: Any) -> str:
    return "-" if value is None else f"{value:+.4g}"


def when(stamp: Any) -> str:
    """A card or move timestamp as people read it (as the CLI prints it)."""
    return str(stamp or "")[:19].replace("T", " ")


def clip(text: Any, limit: int = 600) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + " …"


def tojson_attr(value: Any) -> str:
    """JSON for a data-* attribute (autoescaping quotes it)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def block_html(block: Any) -> Markup:
    """A report block as HTML; loss curves become a uPlot chart instead of a PNG."""
    from adapterctl.report import blocks

    if block.kind == "curve":
        series = {label: [[s, v] for s, v in points] for label, points in block.series.items()}
        data = tojson_attr({"title": block.text, "series": series})
        return Markup('<div class="chart" data-kind="curves" data-chart="{}"></div>').format(data)
    return Markup(blocks.html(block))  # blocks escape their own text


def files_named(message: str, root: Path) -> list[str]:
    """Project-relative paths of the files an error message names."""
    out = []
    for match in FILE_IN_MESSAGE.findall(message):
        path = Path(match)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(root.resolve())
            except ValueError:
                continue
        if str(path) not in out:
            out.append(str(path))
    return out
