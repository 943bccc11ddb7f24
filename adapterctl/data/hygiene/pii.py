"""pii: e-mail addresses, phone numbers and card-like numbers (Luhn-valid), so nobody trains
an adapter on customers' contact details by accident. Warnings by default; what is found is
masked in the report, which may end up in CI logs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from adapterctl.data.hygiene.problems import Problem
from adapterctl.data.hygiene.rows import DataFile, first_of_each_kind

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
# RFC 2606/6761 names that can never reach a person.
_RESERVED = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$", re.IGNORECASE)
_CANDIDATE = re.compile(r"@|\d\D?\d\D?\d")  # a cheap first test: most text has neither
_DIGITS = re.compile(r"(?<![\w/.:-])\+?\(?\d[\d ().-]{6,22}\d(?![\w/:-]|\.\d)")
# Dates and times are digits with separators too.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def find(text: str) -> Iterator[tuple[str, str]]:
    """(kind, masked value) for each personal datum in `text`."""
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _RESERVED.search(m.group(1)):
                yield "e-mail address", f"{m.group(0)[0]}***@{m.group(1)}"
    for m in _DIGITS.finditer(text):
        raw = m.group(0).strip()
        digits = re.sub(r"\D", "", raw)
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and re.fullmatch(r"[\d -]+", raw):
            yield "card-like number", f"****{digits[-4:]} ({len(digits)} digits, Luhn-valid)"
        elif _phone_like(raw, digits):
            yield "phone number", f"***{digits[-4:]}"


def _phone_like(raw: str, digits: str) -> bool:
    if _DATE.search(raw) or not 7 <= len(digits) <= 15:
        return False
    separated = raw.startswith("+") or "(" in raw or re.search(r"\d[ .-]\d", raw) is not None
    if not separated:  # a bare run of digits is an id or an amount more often than a phone
        return False
    if raw.startswith("+"):
        return len(digits) >= 8
    return len(digits) >= 10 or ("(" in raw and len(digits) >= 7)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check(data: DataFile, invalid: set[int]) -> list[Problem]:
    return first_of_each_kind(data, invalid, "pii", lambda text: find(text) if _CANDIDATE.search(text) else ())
