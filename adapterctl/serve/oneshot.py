"""`adapterctl generate`: one answer from one version, through the same engine the server uses."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapterctl import versions
from adapterctl.core import ui
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.data.prompts import for_version
from adapterctl.serve import prompting
from adapterctl.serve.engine import Job
from adapterctl.serve.protocol import MAX_TEMPERATURE
from adapterctl.serve.startup import load_engine


@dataclass
class GenerateResult:
    """One answer from `adapterctl generate`."""

    ref: str
    version: str  # full id
    prompt: str
    text: str
    finish_reason: str  # stop | length
    usage: dict[str, int]  # prompt_tokens, completion_tokens, total_tokens
    rendered: str = ""  # the prompt as sent to the model: through the version's format, or verbatim (--raw)


def generate(
    project: Project,
    ref: str,
    prompt: str,
    *,
    max_tokens: int = 128,
    temperature: float = 0.0,
    raw: bool = False,
    system: str | None = None,
    on_text: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """One answer from REF. The prompt goes through the version's own prompt format (as a
    user message, `system` as the system message), as eval and the server render it;
    `raw` sends it verbatim."""
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise UsageError(f"--temperature {temperature}: use 0 (greedy) to {MAX_TEMPERATURE}")
    if max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    version = versions.resolve(project, ref, verify=True)
    engine = load_engine(project)
    slot = engine.add(version)
    if raw:
        if system is not None:
            raise UsageError("--system fills the adapter's prompt format; --raw sends the prompt verbatim: use one")
        text = prompt
    else:
        messages = [{"role": "system", "content": system}] if system is not None else []
        fmt = for_version(project, version, notice=ui.info)
        try:
            text = prompting.chat_prompt(engine, fmt, [*messages, {"role": "user", "content": prompt}])
        except prompting.PromptError as exc:
            raise UsageError(f"{exc}; or send the prompt verbatim with --raw") from None
    ids = engine.encode(text)
    if len(ids) + max_tokens > engine.context_length:
        raise UsageError(
            f"the prompt ({len(ids)} tokens) + --max-tokens {max_tokens} exceed the context "
            f"length {engine.context_length}"
        )
    events: queue.Queue = queue.Queue()
    engine.acquire(slot)
    engine.submit(Job(slot, ids, max_tokens, temperature, 1.0, [], sink=events.put))
    parts: list[str] = []
    try:
        while True:
            event = events.get()
            if event[0] == "delta":
                parts.append(event[1])
                if on_text is not None:
                    on_text(event[1])
            elif event[0] == "error":
                raise RuntimeError(event[1])
            else:
                return {
                    "ref": version.ref,
                    "version": version.id,
                    "prompt": prompt,
                    "rendered": text,
                    "text": "".join(parts),
                    "finish_reason": event[1],
                    "usage": event[2],
                }
    finally:
        engine.stop()
