"""The server's HTTP surface, against one real `adapterctl serve` process with an API key:
OpenAI shapes, streaming, pinned versions, errors for bad requests, auth, and the SIGTERM
drain (the last test: it stops the server)."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest
from servekit import PROMPTS, make_project, start_server

pytestmark = pytest.mark.slow
KEY = "test-key-123"
HEADER = "X-Adapter-Version"


@pytest.fixture(scope="module")
def live(_example_template, peft_adapters, tmp_path_factory):
    root, made = make_project(_example_template, tmp_path_factory.mktemp("serve-requests") / "demo", peft_adapters)
    server = start_server(root, env={"ADAPTERCTL_API_KEY": KEY})
    yield server, made
    server.stop()


@pytest.fixture
def client(live):
    server, _ = live
    with server.client(headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


def error_of(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    return err


def test_the_api_key_is_required_except_for_healthz(live) -> None:
    server, _ = live
    with server.client() as anonymous:
        assert error_of(anonymous.get("/v1/models"), 401)["code"] == "invalid_api_key"
        r = anonymous.post(
            "/v1/completions", json={"model": "support", "prompt": "hi"}, headers={"Authorization": "Bearer wrong"}
        )
        assert error_of(r, 401)["code"] == "invalid_api_key"
        assert anonymous.get("/healthz").status_code == 200


def test_completions_and_chat_answer_in_openai_shapes_with_the_version_header(live, client) -> None:
    _, (v1, v2) = live
    r = client.post(
        "/v1/completions", json={"model": "support", "prompt": PROMPTS[0], "max_tokens": 5, "temperature": 0}
    )
    assert r.status_code == 200 and r.headers[HEADER] == v2.id
    body = r.json()
    assert body["object"] == "text_completion" and body["model"] == "support"
    assert body["choices"][0]["finish_reason"] in ("length", "stop")
    assert body["usage"]["completion_tokens"] <= 5 and body["usage"]["prompt_tokens"] > 0

    r = client.post(
        "/v1/chat/completions",
        json={"model": "support", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200 and r.headers[HEADER] == v2.id
    message = r.json()["choices"][0]["message"]
    assert r.json()["object"] == "chat.completion" and message["role"] == "assistant"

    models = client.get("/v1/models").json()
    assert {"id": "support", "root": v2.id}.items() <= models["data"][0].items()


def read_stream(response: httpx.Response) -> list[dict]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            events.append("[DONE]" if line == "data: [DONE]" else json.loads(line[6:]))
    return events


def test_streaming_sends_the_same_greedy_answer_as_server_sent_events(live, client) -> None:
    _, (v1, v2) = live
    payload = {"model": "support", "prompt": PROMPTS[1], "max_tokens": 20, "temperature": 0}
    whole = client.post("/v1/completions", json=payload).json()["choices"][0]["text"]
    with client.stream("POST", "/v1/completions", json={**payload, "stream": True}) as r:
        assert r.status_code == 200 and r.headers[HEADER] == v2.id
        assert r.headers["content-type"].startswith("text/event-stream")
        events = read_stream(r)
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] in ("length", "stop")
    assert len(events) > 3, "tokens should arrive one by one"
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == whole

    with client.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": "support", "stream": True, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
    ) as r:
        chat = read_stream(r)
    assert chat[0]["object"] == "chat.completion.chunk" and chat[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chat[-1] == "[DONE]"


def test_a_pinned_version_is_loaded_on_demand(live, client) -> None:
    _, (v1, v2) = live
    r = client.post("/v1/completions", json={"model": f"support@{v1.id[:8]}", "prompt": "hi", "max_tokens": 3})
    assert r.status_code == 200 and r.headers[HEADER] == v1.id
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids[0] == "support" and f"support@{v1.id[:12]}" in ids
    r = client.post("/v1/completions", json={"model": "support@deadbeef", "prompt": "hi"})
    assert error_of(r, 404)["code"] == "model_not_found"


@pytest.mark.parametrize(
    "path, body, status, param, code",
    [
        ("/v1/completions", b"{not json", 400, None, "invalid_json"),
        ("/v1/completions", b"[1, 2]", 400, None, "invalid_json"),
        ("/v1/completions", {"prompt": "hi"}, 400, "model", "invalid_value"),
        ("/v1/completions", {"model": "support"}, 400, "prompt", "invalid_value"),
        ("/v1/completions", {"model": "nope", "prompt": "hi"}, 404, "model", "model_not_found"),
        (
            "/v1/completions",
            {"model": "support", "prompt": "hi", "max_tokens": 10**9},
            400,
            "max_tokens",
            "context_length_exceeded",
        ),
        ("/v1/completions", {"model": "support", "prompt": "hi", "max_tokens": 0}, 400, "max_tokens", "invalid_value"),
        (
            "/v1/completions",
            {"model": "support", "prompt": "hi", "temperature": 50},
            400,
            "temperature",
            "invalid_value",
        ),
        ("/v1/completions", {"model": "support", "prompt": "hi", "n": 3}, 400, "n", "invalid_value"),
        ("/v1/completions", {"model": "support", "prompt": "word " * 4000}, 400, "prompt", "context_length_exceeded"),
        ("/v1/chat/completions", {"model": "support", "messages": []}, 400, "messages", "invalid_value"),
        (
            "/v1/chat/completions",
            {"model": "support", "messages": [{"content": "hi"}]},
            400,
            "messages.0.role",
            "invalid_value",
        ),
        ("/v1/completions", {"model": "support", "prompt": "x" * (2 << 20)}, 413, None, "body_too_large"),
    ],
)
def test_bad_requests_get_openai_errors_and_the_server_stays_up(live, client, path, body, status, param, code) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    err = error_of(client.post(path, content=content, headers={"content-type": "application/json"}), status)
    assert (err["param"], err["code"]) == (param, code)
    assert client.get("/healthz").json()["status"] == "ok"


def test_unknown_routes_answer_in_the_error_shape(client) -> None:
    assert error_of(client.get("/v1/nothing"), 404)


def test_sigterm_drains_an_in_flight_stream_then_exits(live, client) -> None:
    server, _ = live
    payload = {"model": "support", "prompt": PROMPTS[0], "max_tokens": 120, "temperature": 0, "stream": True}
    with client.stream("POST", "/v1/completions", json=payload) as r:
        lines = r.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        server.proc.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        rest = [line for line in lines if line.startswith("data: ")]
    assert json.loads(first[6:])["choices"][0]["text"] is not None
    assert rest[-1] == "data: [DONE]", "the stream in flight at SIGTERM must finish"
    assert json.loads(rest[-2][6:])["choices"][0]["finish_reason"] in ("length", "stop")
    assert server.proc.wait(timeout=40) == 0 and time.monotonic() - stopped_at < 40
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=2)
