"""tags: rows per task tag ("qa", "explanation", "code"), when rows carry one; rows without a
tag, and one-off tags that look like a typo of a common one."""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

from adapterctl.data.hygiene.problems import Problem
from adapterctl.data.hygiene.rows import DataFile


def check(data: DataFile, invalid: set[int], field: str | None) -> tuple[list[Problem], dict[str, Any]]:
    if field is None:
        return [], {}
    counts: Counter[str] = Counter()
    untagged = []
    for row in data.rows:
        if row.line in invalid:
            continue
        value = row.data.get(field)
        if isinstance(value, str) and value.strip():
            counts[value.strip()] += 1
        else:
            untagged.append(row.line)
    if not counts:
        return [], {}
    problems = [
        Problem("tags", data.label, line, f"no `{field}` while {sum(counts.values())} other rows have one")
        for line in untagged
    ]
    common = [t for t, c in counts.items() if c > 1]
    for row in data.rows:
        tag = row.data.get(field)
        if isinstance(tag, str) and counts.get(tag.strip()) == 1 and len(counts) > 1:
            close = difflib.get_close_matches(tag.strip(), common, n=1, cutoff=0.75)
            if close:
                problems.append(
                    Problem(
                        "tags",
                        data.label,
                        row.line,
                        f"`{field}` {tag.strip()!r} is on this row only (a typo of {close[0]!r}?)",
                    )
                )
    summary = {"field": field, "counts": dict(counts.most_common()), "untagged": len(untagged)}
    return problems, summary
