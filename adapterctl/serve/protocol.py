"""The OpenAI wire format: request validation, response bodies, stream chunks, errors.

Requests are checked here before anything reaches the engine, and every failure is an
`ApiError` that the app renders in OpenAI's error shape
`{"error": {"message", "type", "param", "code"}}` with a 4xx status. Fields OpenAI clients
send that this server does not use (presence_penalty, user, ...) are accepted and ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_TEMPERATURE = 2.0


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


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0, le=MAX_TEMPERATURE)
    top_p: float = Field(1.0, gt=0, le=1)
    n: int = Field(1, ge=1, le=1)  # one choice per request: ask again for more
    stream: bool = False
    stop: str | list[str] | None = None


class CompletionRequest(_Request):
    prompt: str | list[str]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = Field(pattern=r"^(system|developer|user|assistant|tool)$")
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)


def parse(raw: bytes, model: type[BaseModel]) -> Any:
    """The validated request, or ApiError(400) naming the offending field."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        problem = "is required" if first["type"] == "missing" else first["msg"]
        raise ApiError(400, f"{param}: {problem}", param=param, code="invalid_value") from None


def prompt_text(req: CompletionRequest) -> str:
    if isinstance(req.prompt, list):
        if len(req.prompt) != 1 or not isinstance(req.prompt[0], str):
            raise ApiError(400, "prompt: give one string (batches of prompts are not supported)", param="prompt")
        return req.prompt[0]
    return req.prompt


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


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def completion_body(rid: str, reply: Reply) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "text": reply.text, "finish_reason": reply.finish_reason, "logprobs": None}],
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
                "logprobs": None,
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
