"""Turn an adapter's data file into prompt/completion rows for supervised fine-tuning.

Three row shapes are accepted, told apart by their columns:

- instruction rows (`output` plus the template's fields, e.g. instruction/input/output):
  the template renders the prompt, `output` is the completion;
- prompt/completion rows: the prompt (rendered through the template when one is set) and
  the completion as given;
- chat rows (`messages`, a list of {role, content}): the conversation up to the last
  assistant turn is the prompt, that turn is the completion; the tokenizer's chat
  template renders them.

The completion is what the loss is computed on when `completion_only_loss` is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.errors import DataError
from adapterctl.data.loading import load_table
from adapterctl.data.prompts import PromptFormat
from adapterctl.data.templates import DEFAULT_TEXT, Template
from adapterctl.store.fingerprints import file_digest

ROLES = {"system", "user", "assistant", "tool"}


@dataclass
class SFTData:
    train: Any  # datasets.Dataset with prompt/completion columns
    val: Any | None
    format: str  # "instruction" | "prompt_completion" | "chat"
    template: str | None  # the template's name, None for chat rows
    val_source: str  # "val_data" | "val_split" | "none"
    data_sha256: str
    val_sha256: str | None
    # What the card records as [prompt]; the recipe fills in the chat template for chat rows.
    prompt: PromptFormat = field(default_factory=lambda: PromptFormat("plain"))

    def summary(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt.to_card(),
            "format": self.format,
            "template": self.template,
            "train_rows": len(self.train),
            "val_rows": len(self.val) if self.val is not None else 0,
            "val_source": self.val_source,
            "data_sha256": self.data_sha256,
            "val_sha256": self.val_sha256,
        }


def detect_format(columns: list[str], label: str) -> str:
    if "messages" in columns:
        return "chat"
    if "prompt" in columns and "completion" in columns:
        return "prompt_completion"
    if "output" in columns:
        return "instruction"
    raise DataError(
        f"{label}: cannot tell the row format from its columns ({', '.join(columns)}): "
        "expected instruction/input/output, prompt/completion, or chat `messages`"
    )


def build(root: Path, *, data: str, val_data: str | None, template: str | None, val_split: float, seed: int) -> SFTData:
    """Load, split and render the data of one adapter spec (paths relative to `root`)."""
    table = load_table(root / data, label=data, numbered=True)
    columns = [c for c in table.column_names if c != "__row__"]
    fmt = detect_format(columns, data)
    tmpl = _template_for(root, template, fmt, columns, data)

    val_table, val_source = None, "none"
    if val_data:
        val_table, val_source = load_table(root / val_data, label=val_data, numbered=True), "val_data"
        val_fmt = detect_format([c for c in val_table.column_names if c != "__row__"], val_data)
        if val_fmt != fmt:
            raise DataError(f"{val_data}: {val_fmt} rows, but {data} has {fmt} rows; use one format for both")
    elif val_split > 0:
        n_val = max(1, round(len(table) * val_split))
        if n_val >= len(table):
            raise DataError(f"{data}: {len(table)} rows are too few to hold out val_split={val_split}")
        # Row order comes from the seed: the same spec and data always split the same way.
        split = table.train_test_split(test_size=n_val, seed=seed, shuffle=True)
        table, val_table, val_source = split["train"], split["test"], "val_split"

    train = _render(table, fmt, tmpl, data)
    val = _render(val_table, fmt, tmpl, val_data or data) if val_table is not None else None
    return SFTData(
        train=train,
        val=val,
        format=fmt,
        template=tmpl.name if tmpl else None,
        val_source=val_source,
        data_sha256=file_digest(root / data, "sha256"),
        val_sha256=file_digest(root / val_data, "sha256") if val_data else None,
        prompt=_format_of(fmt, tmpl),
    )


def _format_of(fmt: str, tmpl: Template | None) -> PromptFormat:
    if fmt == "chat":
        return PromptFormat("chat")
    if tmpl is None:
        return PromptFormat("plain")
    return PromptFormat("template", tmpl.text, tmpl.name)


def _template_for(root: Path, template: str | None, fmt: str, columns: list[str], label: str) -> Template | None:
    if fmt == "chat":
        if template:
            raise DataError(
                f"{label}: chat rows (`messages`) are rendered by the tokenizer's chat template; "
                f'remove `template = "{template}"` from this adapter or use instruction rows'
            )
        return None
    if template:
        return Template.load(root, template)
    if fmt == "prompt_completion":
        return None
    text = DEFAULT_TEXT if "input" in columns else DEFAULT_TEXT.replace("### Input:\n{input}\n\n", "")
    return Template.parse(text, "<default template>")


def _render(table, fmt: str, tmpl: Template | None, label: str):
    """Map rows to prompt/completion columns."""
    return table.map(
        _row_to_example,
        fn_kwargs={"fmt": fmt, "tmpl": tmpl, "label": label},
        remove_columns=table.column_names,
        load_from_cache_file=False,
        keep_in_memory=True,
    )


def _row_to_example(row: dict[str, Any], *, fmt: str, tmpl: Template | None, label: str) -> dict[str, Any]:
    # `__row__` (load_table) survives the split: errors name the file's line, as editors count.
    where = f"{label} row {row['__row__']}" if label.endswith((".json", ".parquet")) else f"{label}:{row['__row__']}"
    if fmt == "chat":
        return _split_chat(row.get("messages"), where)
    answer_key = "output" if fmt == "instruction" else "completion"
    completion = row.get(answer_key)
    if not isinstance(completion, str) or not completion.strip():
        raise DataError(f"{where}: `{answer_key}` is empty or missing; every row needs an answer to learn")
    if tmpl is not None:
        fields = {k: v for k, v in row.items() if k != "__row__"}
        prompt = tmpl.render(fields, where)
    else:
        given = row.get("prompt")
        if not isinstance(given, str):
            raise DataError(f"{where}: `prompt` is missing")
        prompt = given
    return {"prompt": prompt, "completion": completion}


def _split_chat(messages: Any, where: str) -> dict[str, Any]:
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: `messages` must be a non-empty list of {{role, content}}")
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise DataError(f'{where}: message {i} must be {{"role": one of {sorted(ROLES)}, "content": text}}')
        clean.append({"role": m["role"], "content": m["content"]})
    if len(clean) < 2 or clean[-1]["role"] != "assistant":
        raise DataError(
            f"{where}: the last message must be the assistant's answer, after at least one other "
            f"message (got {[m['role'] for m in clean]})"
        )
    return {"prompt": clean[:-1], "completion": clean[-1:]}


def render_file(
    root: Path, rel: str, template: str | None, prompt: PromptFormat | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(format, rows) of one data file as prompt/completion dicts, each with its raw row
    under `row` (eval needs the label and other fields as well as the rendered text).
    `prompt`, a version's recorded format, renders the rows instead of `template`."""
    table = load_table(root / rel, label=rel, numbered=True)
    columns = [c for c in table.column_names if c != "__row__"]
    fmt = detect_format(columns, rel)
    if prompt is None:
        prompt = _format_of(fmt, _template_for(root, template, fmt, columns, rel))
    elif (prompt.kind == "chat") != (fmt == "chat"):
        raise DataError(f"{rel}: {fmt} rows, but the version was trained on a {prompt.kind} prompt format")
    # The version's own template renders the prompt (Template.render, as PromptFormat.render does for serve).
    tmpl = prompt.template() if prompt.kind == "template" else None
    rows = []
    for raw in table:
        example = _row_to_example(raw, fmt=fmt, tmpl=tmpl, label=rel)
        rows.append({**example, "row": {k: v for k, v in raw.items() if k != "__row__"}})
    return fmt, rows
