"""`adapterctl generate`: one answer from one version, through the same engine the server uses."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapterctl import versions
from adapterctl.errors import UsageError
from adapterctl.project import Project
from adapterctl.serve.engine import Job, load_engine
from adapterctl.serve.protocol import MAX_TEMPERATURE


@dataclass
class GenerateResult:
    """One answer from `adapterctl generate`."""

    ref: str
    version: str  # full id
    prompt: str
    text: str
    finish_reason: str  # stop | length
    usage: dict[str, int]  # prompt_tokens, completion_tokens, total_tokens


def generate(
    project: Project,
    ref: str,
    prompt: str,
    *,
    max_tokens: int = 128,
    temperature: float = 0.0,
    chat: bool = False,
    on_text: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise UsageError(f"--temperature {temperature}: use 0 (greedy) to {MAX_TEMPERATURE}")
    if max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    version = versions.resolve(project, ref, verify=True)
    engine = load_engine(project)
    slot = engine.add(version)
    text = engine.chat_prompt([{"role": "user", "content": prompt}]) if chat else prompt
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
                    "text": "".join(parts),
                    "finish_reason": event[1],
                    "usage": event[2],
                }
    finally:
        engine.stop()
