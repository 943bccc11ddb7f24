"""The OpenAI wire format and the serve extra check, without a model or a socket."""

from __future__ import annotations

import json

import pytest

from adapterctl.errors import UsageError
from adapterctl.serve import protocol, require_extra
from adapterctl.serve.metrics import Metrics
from adapterctl.serve.protocol import ApiError


def test_requests_parse_and_name_the_bad_field() -> None:
    req = protocol.parse(b'{"model": "support", "prompt": "hi", "presence_penalty": 0.5}', protocol.CompletionRequest)
    assert (req.model, req.prompt, req.temperature, req.max_tokens) == ("support", "hi", 1.0, None)
    with pytest.raises(ApiError) as bad:
        protocol.parse(b'{"model": "support", "prompt": "hi", "top_p": 0}', protocol.CompletionRequest)
    assert (bad.value.status, bad.value.param) == (400, "top_p")
    with pytest.raises(ApiError) as bad:
        protocol.parse(b"\xff\xfe", protocol.CompletionRequest)
    assert bad.value.code == "invalid_json"


def test_the_budget_fits_prompt_and_answer_into_the_context() -> None:
    req = protocol.parse(b'{"model": "m", "prompt": "p"}', protocol.CompletionRequest)
    assert protocol.budget(req, 10, 100, default=16) == 16
    assert protocol.budget(req, 95, 100, default=16) == 5  # the default shrinks to what fits
    asked = protocol.parse(b'{"model": "m", "prompt": "p", "max_tokens": 91}', protocol.CompletionRequest)
    with pytest.raises(ApiError) as over:
        protocol.budget(asked, 10, 100, default=16)
    assert over.value.code == "context_length_exceeded" and over.value.param == "max_tokens"
    chat = protocol.parse(
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 7}',
        protocol.ChatRequest,
    )
    assert protocol.budget(chat, 10, 100, default=256) == 7


def test_chat_content_parts_are_joined_and_other_parts_refused() -> None:
    ok = protocol.parse(
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
                ],
            }
        ).encode(),
        protocol.ChatRequest,
    )
    assert protocol.chat_messages(ok) == [{"role": "user", "content": "ab"}]
    image = protocol.parse(
        json.dumps(
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            }
        ).encode(),
        protocol.ChatRequest,
    )
    with pytest.raises(ApiError, match="only text parts"):
        protocol.chat_messages(image)


def test_stream_chunks_are_server_sent_events_in_openai_shapes() -> None:
    first = protocol.chunk("id1", "support", chat=True, first=True)
    assert first.startswith("data: ") and first.endswith("\n\n")
    assert json.loads(first[6:])["choices"][0]["delta"] == {"role": "assistant"}
    text = json.loads(protocol.chunk("id2", "support", chat=False, text="hey")[6:])
    assert text["object"] == "text_completion" and text["choices"][0]["text"] == "hey"


def test_metrics_render_prometheus_text() -> None:
    m = Metrics()
    m.observe("completions", "support", "abc", 200, 0.03, tokens=5)
    text = m.render("prod", {"support": "abc"}, loaded=2, refused={"support": "def"}, swaps=1)
    assert 'adapterctl_requests_total{endpoint="completions",model="support",version="abc",status="200"} 1' in text
    assert 'adapterctl_request_duration_seconds_bucket{endpoint="completions",le="0.05"} 1' in text
    assert 'adapterctl_request_duration_seconds_bucket{endpoint="completions",le="0.025"} 0' in text
    assert 'adapterctl_served_version{env="prod",adapter="support",version="abc"} 1' in text
    assert 'adapterctl_refused_version{env="prod",adapter="support",version="def"} 1' in text


def test_a_missing_serve_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapterctl.serve as serve

    monkeypatch.setattr(serve, "EXTRA_MODULES", ("fastapi", "no_such_module_for_adapterctl"))
    with pytest.raises(
        UsageError, match=r"needs no_such_module_for_adapterctl: install the extra with .*adapterctl\[serve\]"
    ):
        require_extra()
    monkeypatch.setattr(serve, "EXTRA_MODULES", ("json",))
    require_extra()
