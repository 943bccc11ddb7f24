"""debris: HTML markup and entities, logging noise, mojibake and control characters left in
the text by scraping and exporting. `clean` strips or repairs each kind for `data fix`."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.entities import html5

from adapterctl.data.hygiene.problems import Problem, excerpt
from adapterctl.data.hygiene.rows import DataFile, first_of_each_kind

# Known tag names only: `List<String>` or a `<name>` placeholder in a docs answer is not markup.
_TAG = re.compile(
    r"<!--.*?-->|</?(?:a|abbr|b|blockquote|body|br|center|code|div|em|font|h[1-6]|head|hr|html|i|iframe|img|"
    r"li|link|meta|ol|p|pre|script|span|strong|style|sub|sup|table|tbody|td|th|thead|tr|u|ul)\b[^<>]*>",
    re.IGNORECASE | re.DOTALL,
)
_ENTITY = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_LEVELS = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)"
# A log record (timestamp or level first), a Python traceback, or a Java/JS stack frame.
_LOG_LINE = re.compile(
    r"^[ \t]*(?:\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?\S*\]?[ \t]|\["
    + _LEVELS
    + r"\]|"
    + _LEVELS
    + r":[\w.]*:|Traceback \(most recent call last\):|File \"[^\"]+\", line \d+|at [\w$.<>]+\([^)]*\)$)"
    r".*$",
    re.MULTILINE,
)
# C0/C1 controls but tab and newlines; zero-width space, BOM and bidi overrides.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


def _entity(match: re.Match[str]) -> bool:
    name = match.group(1)
    return name.startswith("#") or f"{name};" in html5


def find(text: str) -> Iterator[tuple[str, str]]:
    """(kind, what was found) for each kind of debris in `text`."""
    if "<" in text and (m := _TAG.search(text)):
        yield "HTML markup", excerpt(m.group(0), 30)
    if "&" in text and (m := next((m for m in _ENTITY.finditer(text) if _entity(m)), None)):
        yield "HTML entity", excerpt(m.group(0), 30)
    if m := _LOG_LINE.search(text):
        yield "logging noise", excerpt(m.group(0), 50)
    if not text.isascii():
        from ftfy.badness import is_bad

        if "\ufffd" in text:
            yield "mojibake", "a U+FFFD replacement character (bytes lost in decoding)"
        elif is_bad(text):
            from ftfy import fix_encoding

            yield "mojibake", f"{excerpt(text, 40)} reads as {excerpt(fix_encoding(text), 40)}"
    if m := _CONTROL.search(text):
        yield "control character", f"U+{ord(m.group(0)):04X}"


def check(data: DataFile, invalid: set[int]) -> list[Problem]:
    return first_of_each_kind(data, invalid, "debris", find)


def clean(text: str) -> str:
    """`text` with markup stripped, entities decoded, log lines dropped, encoding repaired and
    control characters removed."""
    if "<" in text:
        text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
        text = _TAG.sub("", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)) if _entity(m) else m.group(0), text)
    if _LOG_LINE.search(text):
        text = "\n".join(line for line in text.split("\n") if not _LOG_LINE.match(line)).strip()
    if not text.isascii():
        from ftfy import fix_encoding

        text = fix_encoding(text).replace("\ufffd", "")
    return _CONTROL.sub("", text)
