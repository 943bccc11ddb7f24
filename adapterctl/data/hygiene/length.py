"""length: tokens per row under the base model's tokenizer against `train.max_length`, the
rows training would truncate, and a histogram.

Only the tokenizer is loaded (transformers' AutoTokenizer, no model), and only when this
check runs. Counts follow the trainer: the rendered prompt with special tokens, then the
answer and an end-of-sequence token; chat rows through the tokenizer's chat template.
"""

from __future__ import annotations

import statistics
from typing import Any

from adapterctl.data.hygiene.problems import Problem
from adapterctl.data.hygiene.rows import DataFile
from adapterctl.data.templates import Template
from adapterctl.manifest import BaseSection
from adapterctl.project import Project

BINS = (0.125, 0.25, 0.5, 0.75, 1.0)  # histogram edges, as fractions of max_length


def load_tokenizer(project: Project, base: BaseSection) -> tuple[Any, str | None]:
    """(tokenizer, None), or (None, why not) when the base is not available here."""
    from adapterctl import modeling
    from adapterctl.errors import StorageError

    try:
        source, kind = modeling.base_source(project, base)
    except StorageError as exc:
        return None, str(exc)
    from adapterctl.train.quiet import quiet

    with quiet():
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(
                source, revision=base.revision if kind == "hub" else None, trust_remote_code=base.trust_remote_code)
        except (OSError, ValueError) as exc:
            return None, f"cannot load the tokenizer of {base.model}: {str(exc).splitlines()[0]}"
    return tokenizer, None


def check(data: DataFile, invalid: set[int], template: Template | None, tokenizer: Any,
          max_length: int) -> tuple[list[Problem], dict[str, Any]]:
    rows = [r for r in data.rows if r.line not in invalid]
    if not rows or data.format is None:
        return [], {}
    counts = _token_counts([r.data for r in rows], data.format, template, tokenizer)
    problems = []
    for row, (prompt, total) in zip(rows, counts):
        if total <= max_length:
            continue
        if prompt >= max_length:
            message = (f"{total} tokens > max_length {max_length}, and the prompt alone is {prompt}: "
                       "nothing of the answer is learnt")
        else:
            message = (f"{total} tokens > max_length {max_length}: the last {total - max_length} of the "
                       f"answer's {total - prompt} tokens are cut")
        problems.append(Problem("length", data.label, row.line, message))
    totals = [t for _, t in counts]
    return problems, summarise(totals, max_length)


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


def _token_counts(rows: list[dict[str, Any]], fmt: str, template: Template | None, tokenizer) -> list[tuple[int, int]]:
    """(prompt tokens, total tokens) per row."""
    if fmt == "chat" or any(isinstance(r.get("prompt"), list) for r in rows):
        return [_chat_count(r, fmt, tokenizer) for r in rows]
    answer_key = "output" if fmt == "instruction" else "completion"
    prompts = [template.render(r, "") if template else str(r.get("prompt", "")) for r in rows]
    answers = [str(r.get(answer_key, "")) for r in rows]
    prompt_lengths = _lengths(tokenizer, prompts, special=True)
    answer_lengths = _lengths(tokenizer, answers, special=False)
    eos = 1 if tokenizer.eos_token_id is not None else 0
    return [(p, p + a + eos) for p, a in zip(prompt_lengths, answer_lengths)]


def _lengths(tokenizer, texts: list[str], *, special: bool) -> list[int]:
    """Token counts; a fast tokenizer's backend counts without building Python id lists
    or offsets (2-3x faster at 100k rows)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return [len(e) for e in backend.encode_batch_fast(texts, add_special_tokens=special)]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=special)["input_ids"]]


def _chat_count(row: dict[str, Any], fmt: str, tokenizer) -> tuple[int, int]:
    if fmt == "chat":
        messages = row["messages"]
        prompt, whole = messages[:-1], messages
    else:
        completion = row.get("completion")
        prompt = row["prompt"]
        whole = prompt + (completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}])
    n_prompt = len(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True))
    return n_prompt, len(tokenizer.apply_chat_template(whole, tokenize=True))
