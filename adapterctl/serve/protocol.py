"""The OpenAI wire format: request validation, response bodies, stream chunks, errors.

Requests are checked here before anything reaches the engine, and every failure is an
`ApiError` that the app renders in OpenAI's error shape
`{"error": {"message", "type", "param", "code"}}` with a 4xx status.

Nothing is silently ignored: a field that would change the answer is either implemented
(logprobs, top_logprobs, echo, seed) or refused with a 400 naming it (tools, n > 1,
response_format, penalties, ...). Only fields that cannot change the answer (user,
metadata, store, stream_options, ...) are accepted without effect, and an unknown field is
refused like a misspelt one.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_TEMPERATURE = 2.0
MAX_TOP_LOGPROBS = 20


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


# Fields OpenAI clients send that cannot change the answer: accepted, without effect.
HARMLESS = frozenset(
    {"user", "metadata", "store", "stream_options", "service_tier", "parallel_tool_calls", "prompt_cache_key"}
    | {"safety_identifier"}
)
# Fields that would change the answer, refused unless they hold their no-op value.
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "best_of": (None, 1),
    "presence_penalty": (None, 0),
    "frequency_penalty": (None, 0),
    "logit_bias": (None, {}),
    "suffix": (None, ""),
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "functions": (None, []),
    "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
    "reasoning_effort": (None,),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "top_k": (None, 0, -1),
    "min_p": (None, 0),
    "repetition_penalty": (None, 1),
}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=0)
    temperature: float = Field(1.0, ge=0, le=MAX_TEMPERATURE)
    top_p: float = Field(1.0, gt=0, le=1)
    n: int = Field(1, ge=1, le=1)  # one choice per request: ask again for more
    stream: bool = False
    stop: str | list[str] | None = None
    seed: int | None = None


class CompletionRequest(_Request):
    prompt: str | list[str] | list[int] | list[list[int]]
    logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    echo: bool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = Field(pattern=r"^(system|developer|user|assistant|tool)$")
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)


def parse(raw: bytes, model: type[BaseModel]) -> Any:
    """The validated request, or ApiError(400) naming the offending field."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    for key in sorted(data):
        if key in NEUTRAL and data[key] not in NEUTRAL[key]:
            raise ApiError(
                400,
                f"{key}: not supported by this server, and ignoring it would change the answer; leave it out",
                param=key,
                code="unsupported_parameter",
            )
    data = {k: v for k, v in data.items() if k not in NEUTRAL and k not in HARMLESS}
    try:
        req = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        if first["type"] == "extra_forbidden":
            raise ApiError(
                400,
                f"{param}: unknown field; this server refuses what it would otherwise ignore",
                param=param,
                code="unsupported_parameter",
            ) from None
        problem = "is required" if first["type"] == "missing" else first["msg"]
        raise ApiError(400, f"{param}: {problem}", param=param, code="invalid_value") from None
    return _check(req)


def _check(req: Any) -> Any:
    """Combinations the field types alone do not rule out."""
    if isinstance(req, ChatRequest):
        if req.top_logprobs is not None and not req.logprobs:
            raise ApiError(400, "top_logprobs: needs logprobs: true", param="top_logprobs", code="invalid_value")
        if req.max_tokens == 0:
            raise ApiError(400, "max_tokens: must be at least 1", param="max_tokens", code="invalid_value")
        wants_logprobs = req.logprobs
    else:
        if req.max_tokens == 0 and not req.echo:
            raise ApiError(
                400, "max_tokens: 0 is only meaningful with echo: true", param="max_tokens", code="invalid_value"
            )
        wants_logprobs = req.logprobs is not None
    if wants_logprobs and req.stream:
        raise ApiError(
            400,
            "logprobs: not supported with stream: true; ask without streaming",
            param="logprobs",
            code="invalid_value",
        )
    return req


def prompt_input(req: CompletionRequest) -> str | list[int]:
    """The one prompt: text, or token ids (as lm-evaluation-harness sends them)."""
    prompt = req.prompt
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], (str, list)):
        if len(prompt) != 1:
            raise ApiError(400, "prompt: give one prompt (batches of prompts are not supported)", param="prompt")
        prompt = prompt[0]
    if isinstance(prompt, list) and not prompt:
        raise ApiError(400, "prompt: is empty", param="prompt", code="invalid_value")
    return prompt  # type: ignore[return-value]  # the list checks above leave a str or a list of ids


def chat_messages(req: ChatRequest) -> list[dict[str, str]]:
    """Messages with content as plain text (OpenAI's list-of-parts form is joined)."""
    out = []
    for i, m in enumerate(req.messages):
        content = m.content
        if isinstance(content, list):
            parts = []
            for part in content:
                if part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise ApiError(
                        400, f"messages.{i}.content: only text parts are supported", param=f"messages.{i}.content"
                    )
                parts.append(part["text"])
            content = "".join(parts)
        out.append({"role": m.role, "content": content or ""})
    return out


def stops(req: _Request) -> list[str]:
    values = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(values) > 4 or any(not s for s in values):
        raise ApiError(400, "stop: up to 4 non-empty strings", param="stop")
    return values


def budget(req: _Request, prompt_tokens: int, context: int, default: int) -> int:
    """max_tokens checked against the context length: prompt + answer must fit."""
    asked = getattr(req, "max_completion_tokens", None) or req.max_tokens
    if prompt_tokens >= context:
        raise ApiError(
            400,
            f"the prompt is {prompt_tokens} tokens; this model's context length is {context}",
            param="messages" if isinstance(req, ChatRequest) else "prompt",
            code="context_length_exceeded",
        )
    if asked is None:
        return min(default, context - prompt_tokens)
    if prompt_tokens + asked > context:
        raise ApiError(
            400,
            f"max_tokens: {prompt_tokens} prompt tokens + {asked} exceed this model's context length {context}",
            param="max_tokens",
            code="context_length_exceeded",
        )
    return asked


@dataclass
class Reply:
    """What one request produced, ready to render as either endpoint's body."""

    model: str
    text: str
    finish_reason: str
    usage: dict[str, int]
    logprobs: dict[str, Any] | None = None


Entry = tuple[float, dict[int, float]]  # a token's logprob, and the likeliest tokens' logprobs


def completion_logprobs(
    tokens: list[int], entries: list[Entry | None], token_text: Any, text_len: Any
) -> dict[str, Any]:
    """The completions endpoint's logprobs object; `text_len(token)` is how much of the
    answer's text a token makes (0 for special tokens such as <s>), for text_offset."""
    out: dict[str, list] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    at = 0
    for token, entry in zip(tokens, entries, strict=True):
        out["tokens"].append(token_text(token))
        out["text_offset"].append(at)
        out["token_logprobs"].append(None if entry is None else entry[0])
        out["top_logprobs"].append(None if entry is None else {token_text(t): v for t, v in entry[1].items()})
        at += text_len(token)
    return out


def chat_logprobs(tokens: list[int], entries: list[Entry], token_text: Any) -> dict[str, Any]:
    """The chat endpoint's logprobs object: {"content": [{token, logprob, bytes, top_logprobs}]}."""

    def item(token: int, logprob: float) -> dict[str, Any]:
        text = token_text(token)
        return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

    content = [
        {**item(token, logprob), "top_logprobs": [item(t, v) for t, v in top.items()]}
        for token, (logprob, top) in zip(tokens, entries, strict=True)
    ]
    return {"content": content}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def completion_body(rid: str, reply: Reply) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "text": reply.text, "finish_reason": reply.finish_reason, "logprobs": reply.logprobs}],
        "usage": reply.usage,
    }


def chat_body(rid: str, reply: Reply) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
                "logprobs": reply.logprobs,
            }
        ],
        "usage": reply.usage,
    }


def chunk(
    rid: str, model: str, *, chat: bool, text: str | None = None, finish: str | None = None, first: bool = False
) -> str:
    """One server-sent event of a streamed answer."""
    if chat:
        delta: dict[str, Any] = {"role": "assistant"} if first else {}
        if text:
            delta["content"] = text
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        obj = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
        obj = "text_completion"
    payload = {"id": rid, "object": obj, "created": int(time.time()), "model": model, "choices": [choice]}
    return f"data: {json.dumps(payload)}\n\n"


DONE = "data: [DONE]\n\n"
