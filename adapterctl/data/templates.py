"""Prompt templates: plain text with `{field}` placeholders filled from a data row.

`{{` and `}}` write literal braces (Python format syntax). Only plain field names are
placeholders; attribute access, indexing and format specs are rejected when the template
is loaded, so a typo fails before training rather than in the middle of it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError

DEFAULT_TEXT = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"


@dataclass(frozen=True)
class Template:
    name: str  # how errors name it: the project-relative path, or "<default>"
    text: str
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, name: str) -> Template:
        fields: list[str] = []
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:  # a lone '{' or '}'
            raise DataError(f"{name}: {exc} (write literal braces as {{{{ and }}}})") from None
        for _, field, spec, conversion in parts:
            if field is None:
                continue
            if not field.isidentifier() or spec or conversion:
                raise DataError(
                    f"{name}: placeholder {{{field}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}}} is not a plain field name like {{input}}"
                )
            if field not in fields:
                fields.append(field)
        return cls(name, text, tuple(fields))

    @classmethod
    def load(cls, root: Path, rel: str) -> Template:
        path = root / rel
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{rel}: template file not found") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{rel}: template is not UTF-8 text ({exc.reason})") from None
        return cls.parse(text, rel)

    def render(self, row: Mapping[str, Any], where: str) -> str:
        """Fill the placeholders from `row`; `where` names the row in errors ("data/x.jsonl:7").

        A field that is absent or null in the row is an error; an empty string is a value.
        """
        values = {}
        for field in self.fields:
            value = row.get(field)
            if value is None:
                present = ", ".join(k for k, v in row.items() if v is not None) or "none"
                raise DataError(
                    f"template {self.name}: placeholder {{{field}}} has no value in {where} (row fields: {present})"
                )
            values[field] = value if isinstance(value, str) else str(value)
        return self.text.format_map(values)
