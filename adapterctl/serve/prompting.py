"""Chat requests rendered through the served version's own prompt format.

`/v1/chat/completions` and `adapterctl generate` turn a conversation into a prompt with
`data.prompts.PromptFormat.render`, the function eval renders its rows with, using the
format recorded on the version's card. `/v1/completions` stays verbatim (OpenAI semantics):
this module is not called there. Formats are read once per version id and kept.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.data.prompts import PromptError, PromptFormat, for_version

log = logging.getLogger("adapterctl.serve")


class Formats:
    """Full version id → its PromptFormat, read from the card on first use."""

    def __init__(self, project: Project):
        self.project = project
        self._lock = threading.Lock()
        self._known: dict[str, PromptFormat] = {}

    def get(self, name: str, version_id: str) -> PromptFormat:
        with self._lock:
            known = self._known.get(version_id)
        if known is not None:
            return known
        version = versions.resolve(self.project, f"{name}@{version_id}", verify=False)
        fmt = for_version(self.project, version, notice=log.warning)
        with self._lock:
            return self._known.setdefault(version_id, fmt)


def chat_prompt(engine: Any, fmt: PromptFormat, messages: Sequence[Mapping[str, str]]) -> str:
    """The conversation as the version's training prompt; PromptError when it cannot be mapped."""
    # Fast tokenizers are not safe to share between threads: hold the engine's tokenizer lock.
    lock = getattr(engine, "_tokenizer_lock", None) if fmt.kind == "chat" else None
    with lock if lock is not None else contextlib.nullcontext():
        return fmt.render(messages, engine.tokenizer)


__all__ = ["Formats", "PromptError", "chat_prompt"]
