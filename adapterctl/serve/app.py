"""The HTTP routes: OpenAI-compatible completions and chat (JSON or server-sent events),
/v1/models, /healthz and /metrics.

Handlers parse and check the request (protocol.py), take a slot for the model named
(catalog.py), queue a job on the engine and relay its events. The served version id goes
back in the `X-Adapter-Version` header of every answer, streamed or not.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapterctl.core.errors import AdapterctlError
from adapterctl.serve import prompting, protocol
from adapterctl.serve.catalog import AmbiguousModel, Catalog, RefusedModel, UnknownModel
from adapterctl.serve.drain import Drain
from adapterctl.serve.engine import Engine, Job, Slot
from adapterctl.serve.metrics import CONTENT_TYPE, Metrics
from adapterctl.serve.protocol import ApiError
from adapterctl.serve.watcher import EnvironmentWatcher

VERSION_HEADER = "X-Adapter-Version"
DEFAULT_MAX_TOKENS = {"completions": 16, "chat": 256}  # OpenAI's completions default is 16


@dataclass
class ServerState:
    catalog: Catalog
    engine: Engine
    watcher: EnvironmentWatcher | None = None
    api_key: str | None = None
    max_body: int = 1 << 20  # bytes
    metrics: Metrics = field(default_factory=Metrics)
    drain: Drain = field(default_factory=Drain)
    started: float = field(default_factory=time.time)
    formats: prompting.Formats | None = None  # version id → prompt format; made from the catalog's project

    def __post_init__(self) -> None:
        if self.formats is None:
            self.formats = prompting.Formats(self.catalog.project)

    def authorized(self, request: Request) -> bool:
        if not self.api_key:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode())


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="adapterctl serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = state
    state.metrics.watch(lambda: _gauges(state))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(ApiError(exc.status_code, str(exc.detail)).body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        error = ApiError(500, f"internal error: {type(exc).__name__}: {exc}", kind="server_error")
        return JSONResponse(error.body(), status_code=500)

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if request.url.path != "/healthz" and not state.authorized(request):
            error = ApiError(401, "missing or wrong API key: send Authorization: Bearer <key>", code="invalid_api_key")
            return JSONResponse(error.body(), status_code=401)
        return await call_next(request)

    @app.post("/v1/completions")
    async def completions(request: Request):
        return await _answer(state, request, chat=False)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        return await _answer(state, request, chat=True)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        base = getattr(state.engine.base.config, "_name_or_path", "") or "base"
        data = [_model_card(name, slot, base) for name, slot in sorted(state.catalog.current().items())]
        data += [_model_card(slot.ref, slot, base) for slot in state.catalog.spare()]
        return {"object": "list", "data": data}

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        """Anyone may ask whether the server is ok; what it serves and why a version was
        refused (paths included) only with the API key."""
        cat = state.catalog
        refused = [vars(r) for r in cat.refusals.values()]
        pointers_error = state.watcher.last_error if state.watcher else None
        status = "degraded" if refused or pointers_error else "ok"
        if not state.authorized(request):
            return {"status": status}
        return {
            "status": status,
            "env": cat.env,
            "serving": {name: slot.version for name, slot in cat.current().items()},
            "loaded": sorted(s.ref for s in state.engine.loaded()),
            "refused": refused,
            "pointers_error": pointers_error,
            "swaps": cat.swaps,
            "base": {"loads": state.engine.base_loads, "object_id": id(state.engine.base)},
            "precision": state.engine.precision,
            "uptime_s": round(time.time() - state.started, 1),
        }

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return app


def _gauges(state: ServerState) -> dict[str, Any]:
    cat = state.catalog
    return {
        "env": cat.env,
        "served": {name: slot.version for name, slot in cat.current().items()},
        "refused": {r.adapter: r.version for r in cat.refusals.values()},
        "loaded": len(state.engine.loaded()),
        "swaps": cat.swaps,
        "cut": state.drain.cut,
    }


def _model_card(model_id: str, slot: Slot, base: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 0,
        "owned_by": "adapterctl",
        "root": slot.version,
        "parent": base,
    }


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is {declared} bytes; the limit is {limit}", code="body_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ApiError(413, f"the body is over the limit of {limit} bytes", code="body_too_large")
    return bytes(body)


async def _slot(state: ServerState, model: str) -> Slot:
    try:
        if "@" in model:  # a pin reads the version cards to resolve its id: off the event loop
            slot = await run_in_threadpool(state.catalog.acquire, model)
        else:
            slot = state.catalog.acquire(model, load=False)
        if slot is None:  # only a pin asked for with load=False comes back unloaded
            raise UnknownModel(f"model '{model}' is not loaded")
        return slot
    except UnknownModel as exc:
        raise ApiError(404, str(exc), param="model", code="model_not_found") from None
    except AmbiguousModel as exc:
        raise ApiError(400, str(exc), param="model", code="ambiguous_model") from None
    except RefusedModel as exc:  # the same answer every time: the version failed to load
        raise ApiError(422, str(exc), param="model", code="model_refused") from None
    except AdapterctlError as exc:  # a pinned version whose weights are missing or do not verify
        raise ApiError(503, str(exc), param="model", code="model_unavailable", kind="server_error") from None


async def _answer(state: ServerState, request: Request, *, chat: bool):
    started = time.perf_counter()
    endpoint = "chat" if chat else "completions"
    req = protocol.parse(
        await _read_body(request, state.max_body), protocol.ChatRequest if chat else protocol.CompletionRequest
    )
    engine = state.engine
    messages = protocol.chat_messages(req) if chat else None
    prompt = None if chat else protocol.prompt_input(req)  # completions: the prompt verbatim
    if chat:
        top = (req.top_logprobs or 0) if req.logprobs else None
        echo = False
    else:
        top, echo = req.logprobs, req.echo
    stop = protocol.stops(req)
    slot = await _slot(state, req.model)
    echo_text = None
    try:
        if chat:  # the conversation in the served version's own prompt format (serve/prompting.py)
            assert state.formats is not None  # made in __post_init__
            text = prompting.chat_prompt(engine, state.formats.get(slot.name, slot.version), messages or [])
            prompt_ids = engine.encode(text)
        else:
            assert prompt is not None  # completions always carry one
            prompt_ids = engine.encode(prompt) if isinstance(prompt, str) else _token_ids(engine, prompt)
            echo_text = (prompt if isinstance(prompt, str) else engine.decode(prompt_ids)) if echo else None
        max_tokens = protocol.budget(req, len(prompt_ids), engine.context_length, DEFAULT_MAX_TOKENS[endpoint])
    except prompting.PromptError as exc:
        engine.release(slot)
        raise ApiError(400, str(exc), param="messages") from None
    except BaseException:  # a cancelled request too: free the slot, then re-raise
        engine.release(slot)
        raise
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    job = Job(
        slot,
        prompt_ids,
        max_tokens,
        req.temperature,
        req.top_p,
        stop,
        sink=lambda event: loop.call_soon_threadsafe(events.put_nowait, event),
        logprobs=top,
        echo_logprobs=echo and top is not None,
        seed=req.seed,
    )
    engine.submit(job)
    headers = {VERSION_HEADER: slot.version}
    rid = protocol.new_id("chatcmpl" if chat else "cmpl")

    def record(status: int, tokens: int = 0) -> None:
        state.metrics.observe(endpoint, req.model, slot.version, status, time.perf_counter() - started, tokens)

    if not req.stream:
        parts = []
        while True:
            event = await state.drain.next_event(events)
            if event[0] == "delta":
                parts.append(event[1])
            elif event[0] in ("error", "cut"):
                job.cancelled = True
                record(500)
                return JSONResponse(
                    ApiError(500, event[1], kind="server_error").body(), status_code=500, headers=headers
                )
            else:
                reply = _reply(engine, req, job, "".join(parts), event, chat=chat, echo_text=echo_text)
                record(200, reply.usage["completion_tokens"])
                body = protocol.chat_body(rid, reply) if chat else protocol.completion_body(rid, reply)
                return JSONResponse(body, headers=headers)

    async def stream():
        finished = False
        try:
            if chat:
                yield protocol.chunk(rid, req.model, chat=True, first=True)
            elif echo_text:
                yield protocol.chunk(rid, req.model, chat=False, text=echo_text)
            while True:
                event = await state.drain.next_event(events)
                if event[0] == "delta":
                    yield protocol.chunk(rid, req.model, chat=chat, text=event[1])
                elif event[0] == "error":
                    yield f"data: {json.dumps(ApiError(500, event[1], kind='server_error').body())}\n\n"
                    record(500)
                    break
                elif event[0] == "cut":  # still running at the drain limit: say so before the connection goes
                    yield f"data: {json.dumps(ApiError(503, event[1], kind='server_error', code='server_shutdown').body())}\n\n"
                    record(503)
                    break
                else:
                    yield protocol.chunk(rid, req.model, chat=chat, finish=event[1])
                    record(200, event[2]["completion_tokens"])
                    break
            finished = True
            yield protocol.DONE
        finally:
            if not finished or not job.done:
                job.cancelled = True  # the client went away, or the drain cut it: stop generating for it

    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def _answer_tokens(engine: Engine, tokens: list[int], answer: str) -> int:
    """How many of `tokens` make up `answer` (the text before any stop string)."""
    kept = 0
    while kept < len(tokens) and len(engine.decode(tokens[:kept])) < len(answer):
        kept += 1
    return kept


def _token_ids(engine: Engine, ids: list[int]) -> list[int]:
    vocab = len(engine.tokenizer)
    bad = next((t for t in ids if not 0 <= t < vocab), None)
    if bad is not None:
        raise ApiError(400, f"prompt: token id {bad} is outside the vocabulary (0-{vocab - 1})", param="prompt")
    return list(ids)


def _reply(
    engine: Engine, req: Any, job: Job, answer: str, event: tuple, *, chat: bool, echo_text: str | None
) -> protocol.Reply:
    """The finished answer with its logprobs (and, with echo, the prompt in front)."""
    logprobs = None
    echo = echo_text is not None
    text = echo_text + answer if echo_text is not None else answer
    if job.logprobs is not None:
        kept = _answer_tokens(engine, job.tokens, answer)  # a stop string may have cut the last ones
        tokens, answered = job.tokens[:kept], job.token_logprobs[:kept]
        if chat:
            logprobs = protocol.chat_logprobs(tokens, answered, engine.token_text)
        else:
            entries: list[tuple[float, dict[int, float]] | None] = list(answered)
            if echo:
                tokens, entries = job.prompt_ids + tokens, job.prompt_logprobs + entries
            logprobs = protocol.completion_logprobs(
                tokens, entries, engine.token_text, lambda t: len(engine.decode([t]))
            )
    return protocol.Reply(req.model, text, event[1], event[2], logprobs)
