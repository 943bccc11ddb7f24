"""schema: each row has the fields its format and template need, as text, and a non-empty answer.

Unreadable rows (not UTF-8, not JSON, not an object) are found while reading (rows.py);
this module judges the rows that did parse. Rows with a schema problem are left out of the
other checks: training could not use them, and `data fix` drops them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError
from adapterctl.data import examples
from adapterctl.data.hygiene.problems import Problem
from adapterctl.data.hygiene.rows import DataFile, kind
from adapterctl.data.templates import Template

ROLES = examples.ROLES


NO_ROWS = "the file has no rows (it is empty or blank)"  # a problem of the file, not of a row


def detect(data: DataFile, root: Path, template: str | None) -> Template | None:
    """Set `data.format` from the columns and return the template that renders its prompts.

    A file whose format cannot be told is one problem on its first row; a template that is
    missing or malformed is bad input (DataError), as it is for `train`.
    """
    if not data.rows:
        if not data.unreadable:
            data.unreadable.append(Problem("schema", data.label, 1, NO_ROWS))
        return None
    try:
        data.format = examples.detect_format(data.columns, data.label)
    except DataError as exc:
        data.unreadable.append(Problem("schema", data.label, data.rows[0].line, str(exc).split(": ", 1)[1]))
        data.rows = []
        return None
    return examples._template_for(root, template, data.format, data.columns, data.label)


def check(data: DataFile, template: Template | None) -> tuple[list[Problem], set[int]]:
    """Problems of the parsed rows, and the lines of rows unfit for training."""
    problems: list[Problem] = []
    for row in data.rows:
        message = _row_problem(row.data, data.format, template)
        if message:
            problems.append(Problem("schema", data.label, row.line, message))
    return problems, {p.line for p in problems}


def _row_problem(row: dict[str, Any], fmt: str | None, template: Template | None) -> str | None:
    if fmt == "chat":
        return _chat_problem(row.get("messages"))
    answer_key = "output" if fmt == "instruction" else "completion"
    answer = row.get(answer_key)
    if fmt == "prompt_completion" and isinstance(answer, list):
        message = _messages_problem(answer, "completion")
        if message:
            return message
    elif not isinstance(answer, str):
        return f"`{answer_key}` is missing" if answer is None else f"`{answer_key}` must be text, got {kind(answer)}"
    elif not answer.strip():
        return f"`{answer_key}` is empty: every row needs an answer to learn"
    if template is not None:
        for name in template.fields:
            value = row.get(name)
            if value is None:
                return f"`{name}` is missing (template {template.name} needs it)"
            if isinstance(value, (dict, list)):
                return f"`{name}` must be text, got {kind(value)} (template {template.name})"
    elif fmt == "prompt_completion":
        prompt = row.get("prompt")
        if isinstance(prompt, list):
            return _messages_problem(prompt, "prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return "`prompt` is missing or empty"
    return None


def _chat_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "`messages` must be a non-empty list of {role, content}"
    message = _messages_problem(messages, "messages")
    if message:
        return message
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        return "the last message must be the assistant's answer, after at least one other message"
    if not messages[-1]["content"].strip():
        return "the assistant's answer is empty"
    return None


def _messages_problem(messages: list[Any], key: str) -> str | None:
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return f'`{key}[{i}]` must be {{"role": one of {", ".join(sorted(ROLES))}, "content": text}}'
    return None
