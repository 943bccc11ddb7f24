"""length: tokens per row under the base model's tokenizer against `train.max_length`, the
rows training would truncate, and a histogram.

Only the tokenizer is loaded (transformers' AutoTokenizer, no model), and only when this
check runs. Counts follow TRL's SFTTrainer: the rendered prompt, the answer and the EOS
token as one text, with the tokenizer's special tokens; chat rows through its chat template.
"""

from __future__ import annotations

import statistics
from typing import Any

from adapterctl.core.project import Project
from adapterctl.data.hygiene.problems import Problem
from adapterctl.data.hygiene.rows import DataFile
from adapterctl.data.templates import Template
from adapterctl.manifest import BaseSection

BINS = (0.125, 0.25, 0.5, 0.75, 1.0)  # histogram edges, as fractions of max_length


def load_tokenizer(project: Project, base: BaseSection) -> tuple[Any, str | None]:
    """(tokenizer, None), or (None, why not) when the base is not available here."""
    from adapterctl import modeling
    from adapterctl.core.errors import StorageError

    try:
        source, kind = modeling.base_source(project, base)
    except StorageError as exc:
        return None, str(exc)
    from adapterctl.runtime.quiet import quiet

    with quiet():
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(
                source, revision=base.revision if kind == "hub" else None, trust_remote_code=base.trust_remote_code
            )
        except (OSError, ValueError) as exc:
            return None, f"cannot load the tokenizer of {base.model}: {str(exc).splitlines()[0]}"
    return tokenizer, None


def check(
    data: DataFile, invalid: set[int], template: Template | None, tokenizer: Any, max_length: int
) -> tuple[list[Problem], dict[str, Any]]:
    rows = [r for r in data.rows if r.line not in invalid]
    if not rows or data.format is None:
        return [], {}
    try:
        counts = _token_counts([r.data for r in rows], data.format, template, tokenizer)
    except ValueError as exc:  # chat rows, and a tokenizer without a chat template
        return [], {"skipped": f"cannot render rows of {data.label}: {str(exc).splitlines()[0]}"}
    long = [i for i, (_, total) in enumerate(counts) if total > max_length]
    # Counting the prompt alone is only needed to explain a truncated row.
    unknown = [i for i in long if counts[i][0] is None]
    if unknown:
        prompts = [_text(rows[i].data, data.format, template, tokenizer, whole=False) for i in unknown]
        chat = _is_chat([r.data for r in rows], data.format)
        for i, n in zip(unknown, _lengths(tokenizer, prompts, special=not chat), strict=True):
            counts[i] = (n, counts[i][1])
    problems = []
    for i in long:
        prompt, total = counts[i]
        assert prompt is not None  # counted above for every long row
        if prompt >= max_length:
            message = (
                f"{total} tokens > max_length {max_length}, and the prompt alone is {prompt}: "
                "nothing of the answer is learnt"
            )
        else:
            message = (
                f"{total} tokens > max_length {max_length}: the last {total - max_length} of the "
                f"answer's {total - prompt} tokens are cut"
            )
        problems.append(Problem("length", data.label, rows[i].line, message))
    return problems, summarise([t for _, t in counts], max_length)


def summarise(totals: list[int], max_length: int) -> dict[str, Any]:
    edges = [max(1, round(max_length * f)) for f in BINS]
    histogram, low = [], 1
    for edge in edges:
        histogram.append({"tokens": f"{low}-{edge}", "rows": sum(low <= t <= edge for t in totals)})
        low = edge + 1
    histogram.append({"tokens": f">{max_length}", "rows": sum(t > max_length for t in totals)})
    ordered = sorted(totals)
    return {
        "max_length": max_length,
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
        "truncated": histogram[-1]["rows"],
        "histogram": histogram,
    }


def _token_counts(
    rows: list[dict[str, Any]], fmt: str, template: Template | None, tokenizer
) -> list[tuple[int | None, int]]:
    """(prompt tokens or None when not counted, total tokens) per row."""
    chat = _is_chat(rows, fmt)
    wholes = [_text(r, fmt, template, tokenizer, whole=True) for r in rows]
    return [(None, n) for n in _lengths(tokenizer, wholes, special=not chat)]


def _is_chat(rows: list[dict[str, Any]], fmt: str) -> bool:
    return fmt == "chat" or any(isinstance(r.get("prompt"), list) for r in rows)


def _text(row: dict[str, Any], fmt: str, template: Template | None, tokenizer, *, whole: bool) -> str:
    """The prompt, or the whole row, as the trainer tokenizes it: chat rows through the chat
    template (which writes its own special tokens); others as TRL does, prompt + answer + EOS."""
    if fmt == "chat" or isinstance(row.get("prompt"), list):
        if fmt == "chat":
            messages = row["messages"] if whole else row["messages"][:-1]
        else:
            answer = row.get("completion")
            answer = answer if isinstance(answer, list) else [{"role": "assistant", "content": answer}]
            messages = row["prompt"] + (answer if whole else [])
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=not whole)
    prompt = template.render(row, "") if template else str(row.get("prompt", ""))
    if not whole:
        return prompt
    answer = str(row.get("output" if fmt == "instruction" else "completion", ""))
    eos = tokenizer.eos_token or ""
    return prompt + answer + ("" if answer.endswith(eos) else eos)


def _lengths(tokenizer, texts: list[str], *, special: bool) -> list[int]:
    """Token counts; a fast tokenizer's backend counts without building Python id lists or
    offsets (2-3x faster at 100k rows)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return [len(e) for e in backend.encode_batch_fast(texts, add_special_tokens=special)]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=special)["input_ids"]]
