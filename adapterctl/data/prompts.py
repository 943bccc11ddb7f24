"""The prompt format a version was trained and evaluated with, and the one function that
renders a conversation through it: eval, `serve`, `generate` and the vLLM export all call
`PromptFormat.render`, so what is served cannot drift from what was evaluated.

Three kinds, recorded on the card as `[prompt]`:

- `template`: a text template with `{field}` placeholders (instruction rows, or
  prompt/completion rows with a template). A conversation fills it: the last user
  message fills `input` (or the only other field), the system message(s) fill
  `instruction` where there is one. Earlier turns are not part of the prompt.
- `plain`: prompt/completion rows without a template: the last user message is the prompt.
- `chat`: `messages` rows: the conversation goes through the chat template recorded on
  the card (the tokenizer's, as training saw it).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import AdapterctlError, DataError
from adapterctl.data.templates import DEFAULT_TEXT, Template

KINDS = ("template", "plain", "chat")
SYSTEM_FIELD = "instruction"  # a system message fills this field where the template has it
USER_FIELD = "input"  # the last user message fills this one (or the only other field)


class PromptError(DataError):
    """A conversation this format cannot render (the server answers it with a 400)."""


@dataclass(frozen=True)
class PromptFormat:
    kind: str  # one of KINDS
    text: str = ""  # the template text (kind "template")
    source: str = ""  # where the text came from: the template's path, or "<default template>"
    chat_template: str = ""  # the chat template (kind "chat"); "" = the tokenizer's own

    # ── the card's [prompt] table ─────────────────────────────────────────────

    def to_card(self) -> dict[str, str]:
        out = {"kind": self.kind, "source": self.source}
        if self.kind == "template":
            out["text"] = self.text
        if self.kind == "chat" and self.chat_template:
            out["chat_template"] = self.chat_template
        return {k: v for k, v in out.items() if v}

    @classmethod
    def from_card(cls, table: Mapping[str, Any], where: str) -> PromptFormat:
        kind = table.get("kind")
        if kind not in KINDS:
            raise DataError(f"{where}: prompt.kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind == "template" and not isinstance(table.get("text"), str):
            raise DataError(f"{where}: prompt.text is missing for a template format")
        fmt = cls(kind, table.get("text", ""), table.get("source", ""), table.get("chat_template", ""))
        if kind == "template":
            fmt.template()  # a card whose template does not parse fails here, not per request
        return fmt

    def template(self) -> Template:
        return Template.parse(self.text, self.source or "<prompt template>")

    # ── rendering ─────────────────────────────────────────────────────────────

    def render_row(self, row: Mapping[str, Any], where: str) -> str:
        """The prompt of one data row (instruction or prompt/completion rows)."""
        if self.kind == "template":
            return self.template().render(row, where)
        if self.kind == "plain":
            prompt = row.get("prompt")
            if not isinstance(prompt, str):
                raise DataError(f"{where}: `prompt` is missing")
            return prompt
        raise DataError(f"{where}: a chat format renders `messages`, not fields")

    def fields(self, messages: Sequence[Mapping[str, str]]) -> dict[str, str]:
        """The row a conversation stands for, per the mapping in the module docstring."""
        users = [m["content"] for m in messages if m.get("role") == "user"]
        if not users:
            raise PromptError("messages: send at least one user message; its text is the prompt")
        systems = [m["content"] for m in messages if m.get("role") == "system"]
        if self.kind == "plain":
            if systems:
                raise PromptError(
                    "messages: this adapter was trained on plain prompts, which have no place for a "
                    "system message; send the user message alone"
                )
            return {"prompt": users[-1]}
        names = self.template().fields
        user_field = user_field_of(names)
        if user_field is None:
            raise PromptError(
                f"messages: the adapter's template {self.source or ''} has the fields "
                f"{', '.join(names) or 'none'}; a conversation fills only `{USER_FIELD}` and "
                f"`{SYSTEM_FIELD}`: send a rendered prompt to /v1/completions instead"
            )
        out = {user_field: users[-1]}
        if SYSTEM_FIELD in names and user_field != SYSTEM_FIELD:
            out[SYSTEM_FIELD] = "\n\n".join(systems)
        elif systems:
            raise PromptError(
                f"messages: the adapter's template {self.source or ''} has no field left for a system "
                f"message (the user message fills `{{{user_field}}}`); send the user message alone"
            )
        return out

    def render(self, messages: Sequence[Mapping[str, str]], tokenizer: Any = None) -> str:
        """A conversation as the prompt text training used; `tokenizer` renders chat formats."""
        if self.kind == "chat":
            if tokenizer is None:
                raise PromptError("a chat format needs the tokenizer to render")
            return tokenizer.apply_chat_template(
                [dict(m) for m in messages],
                chat_template=self.chat_template or None,
                tokenize=False,
                add_generation_prompt=True,
            )
        return self.render_row(self.fields(messages), "messages")


def to_jinja(fmt: PromptFormat, *, bos: bool) -> str:
    """A chat template (jinja, as transformers and vLLM render them) that turns a conversation
    into exactly `fmt.render`'s text, `bos_token` first when `bos` (vLLM's chat endpoint adds
    no special tokens; the tokenizer adds BOS to the prompts eval and training encode).

    Literal text is emitted as quoted jinja strings and the logic sits in `{%- -%}` tags, so
    trim_blocks/lstrip_blocks change nothing."""
    head = "{{- bos_token -}}" if bos else ""
    if fmt.kind == "chat":
        text = fmt.chat_template
        if not text:
            raise DataError("the version's chat format names no chat template to export")
        return text
    collect = (
        "{%- set ns = namespace(user=none, system=[]) -%}"
        "{%- for m in messages -%}"
        "{%- if m['role'] == 'user' -%}{%- set ns.user = m['content'] -%}"
        "{%- elif m['role'] == 'system' -%}{%- set ns.system = ns.system + [m['content']] -%}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if ns.user is none -%}{{- raise_exception('send at least one user message') -}}{%- endif -%}"
    )
    if fmt.kind == "plain":
        refuse = "{%- if ns.system -%}{{- raise_exception('this adapter takes no system message') -}}{%- endif -%}"
        return collect + refuse + head + "{{- ns.user -}}"
    names = fmt.template().fields
    user_field = user_field_of(names)
    if user_field is None:
        raise PromptError(f"{fmt.source}: its fields {', '.join(names)} cannot come from a conversation")
    values = {user_field: "ns.user"}
    system_slot = SYSTEM_FIELD in names and user_field != SYSTEM_FIELD
    if system_slot:
        values[SYSTEM_FIELD] = "ns.system | join('\\n\\n')"
        refuse = ""
    else:
        refuse = "{%- if ns.system -%}{{- raise_exception('this adapter takes no system message') -}}{%- endif -%}"
    parts = [collect, refuse, head]
    for literal, field, _, _ in string.Formatter().parse(fmt.text):
        if literal:
            parts.append("{{- " + _jinja_string(literal) + " -}}")
        if field is not None:
            parts.append("{{- " + values[field] + " -}}")
    return "".join(parts)


def _jinja_string(text: str) -> str:
    """`text` as a jinja string literal (jinja decodes backslash escapes like Python)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return "'" + escaped.replace("\t", "\\t") + "'"


def user_field_of(names: Sequence[str]) -> str | None:
    """The template field the last user message fills: `input`, else `instruction`, else the
    only field; None when the template needs more than a conversation can give."""
    rest = [n for n in names if n not in (USER_FIELD, SYSTEM_FIELD)]
    if rest and (USER_FIELD in names or SYSTEM_FIELD in names or len(rest) > 1):
        return None
    if USER_FIELD in names:
        return USER_FIELD
    if SYSTEM_FIELD in names:
        return SYSTEM_FIELD
    return rest[0] if rest else None


def messages_of(row: Mapping[str, Any], fmt: PromptFormat) -> list[dict[str, str]]:
    """An eval row as the chat messages a client would send for it (the inverse of `fields`):
    what `verify` replays against a live endpoint."""
    if fmt.kind == "chat":
        messages = list(row["messages"])
        if messages and messages[-1].get("role") == "assistant":
            messages.pop()  # the answer is what we ask for (as examples._split_chat splits it)
        return [{"role": m["role"], "content": m["content"]} for m in messages]
    if fmt.kind == "plain":
        return [{"role": "user", "content": str(row["prompt"])}]
    names = fmt.template().fields
    user_field = user_field_of(names)
    if user_field is None:
        raise PromptError(f"{fmt.source}: its fields {', '.join(names)} cannot come from a conversation")
    out = []
    if SYSTEM_FIELD in names and user_field != SYSTEM_FIELD and row.get(SYSTEM_FIELD):
        out.append({"role": "system", "content": str(row[SYSTEM_FIELD])})
    out.append({"role": "user", "content": str(row.get(user_field) or "")})
    return out


def for_data(
    root: Path, fmt: str, template: str | None, columns: Sequence[str], chat_template: str = ""
) -> PromptFormat:
    """The format of data in row format `fmt` (examples.detect_format) with the spec's template."""
    if fmt == "chat":
        return PromptFormat("chat", chat_template=chat_template)
    if template:
        return PromptFormat("template", Template.load(root, template).text, template)
    if fmt == "prompt_completion":
        return PromptFormat("plain")
    text = DEFAULT_TEXT if "input" in columns else DEFAULT_TEXT.replace("### Input:\n{input}\n\n", "")
    return PromptFormat("template", text, "<default template>")


def first_columns(path: Path) -> list[str]:
    """The columns of a JSON-lines file's first row, read without `datasets` (cheap)."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    return []
                return list(row) if isinstance(row, dict) else []
    return []


def for_version(project: Any, version: Any, *, notice: Any = None) -> PromptFormat:
    """The format a version was trained with: its card's `[prompt]` table; for cards written
    before it existed, the template as it was at the card's commit (else as it is now), with
    a `notice(text)` saying so."""
    card = version.card
    where = f"card of {version.ref}"
    table = card.prompt
    if table:
        return PromptFormat.from_card(table, where)
    template = card.spec.template
    rel = card.spec.eval_data or card.spec.data or ""
    columns = first_columns(project.root / rel) if rel and (project.root / rel).is_file() else []
    kind = "chat" if "messages" in columns else "prompt_completion" if "prompt" in columns else "instruction"
    if not template:
        fmt = for_data(project.root, kind, None, columns)
        origin = "the data's row format"
    else:
        from adapterctl.store import gitio

        text = None
        commit = card.git_commit.removesuffix("-dirty")
        if commit:
            try:
                text = gitio.read_at(project.root, commit, template)
            except AdapterctlError:  # a commit this clone does not have
                text = None
        origin = f"{template} at commit {commit[:8]}"
        if text is None:
            path = project.root / template
            if not path.is_file():
                raise DataError(f"{where}: no prompt format recorded, and {template} is not in this project")
            text, origin = path.read_text(encoding="utf-8"), f"{template} as it is now"
        fmt = PromptFormat("template", text, template)
        fmt.template()
    if notice is not None:
        notice(f"{version.ref}: its card records no prompt format (an older card); using {origin}")
    return fmt
