"""The OpenAI wire format and the serve extra check, without a model or a socket."""

from __future__ import annotations

import json

import pytest

from adapterctl.core.errors import UsageError
from adapterctl.serve import protocol, require_extra
from adapterctl.serve.metrics import Metrics
from adapterctl.serve.protocol import ApiError


def test_requests_parse_and_name_the_bad_field() -> None:
    req = protocol.parse(
        b'{"model": "support", "prompt": "hi", "presence_penalty": 0, "user": "u1"}', protocol.CompletionRequest
    )
    assert (req.model, req.prompt, req.temperature, req.max_tokens) == ("support", "hi", 1.0, None)
    with pytest.raises(ApiError) as bad:
        protocol.parse(b'{"model": "support", "prompt": "hi", "top_p": 0}', protocol.CompletionRequest)
    assert (bad.value.status, bad.value.param) == (400, "top_p")
    with pytest.raises(ApiError) as bad:
        protocol.parse(b"\xff\xfe", protocol.CompletionRequest)
    assert bad.value.code == "invalid_json"


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"presence_penalty": 0.5}, "presence_penalty"),  # the finding: accepted and ignored
        ({"tools": [{"type": "function"}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"best_of": 3}, "best_of"),
        ({"temprature": 0}, "temprature"),  # a misspelt field is not silently dropped either
        ({"max_tokens": 0}, "max_tokens"),  # 0 only with echo
        ({"logprobs": 2, "stream": True}, "logprobs"),
    ],
)
def test_fields_that_would_change_the_answer_are_refused_by_name(extra: dict, param: str) -> None:
    body = json.dumps({"model": "support", "prompt": "hi", **extra}).encode()
    with pytest.raises(ApiError) as bad:
        protocol.parse(body, protocol.CompletionRequest)
    assert (bad.value.status, bad.value.param) == (400, param) and param in bad.value.message


def test_logprobs_echo_seed_and_token_prompts_parse() -> None:
    req = protocol.parse(
        b'{"model": "m", "prompt": [[1, 2, 3]], "max_tokens": 0, "echo": true, "logprobs": 1, "seed": 3}',
        protocol.CompletionRequest,
    )
    assert protocol.prompt_input(req) == [1, 2, 3] and (req.echo, req.logprobs, req.seed) == (True, 1, 3)
    with pytest.raises(ApiError, match="top_logprobs: needs logprobs"):
        protocol.parse(
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}', protocol.ChatRequest
        )
    with pytest.raises(ApiError, match="one prompt"):
        protocol.prompt_input(protocol.parse(b'{"model": "m", "prompt": ["a", "b"]}', protocol.CompletionRequest))


def test_logprob_objects_in_openai_shapes() -> None:
    text = {1: "<s>", 5: "Hi", 6: " there"}.get
    entries = [None, (-0.5, {5: -0.5, 6: -2.0}), (-0.1, {6: -0.1, 5: -3.0})]
    out = protocol.completion_logprobs([1, 5, 6], entries, text, lambda t: 0 if t == 1 else len(text(t)))
    assert out["tokens"] == ["<s>", "Hi", " there"] and out["text_offset"] == [0, 0, 2]
    assert out["token_logprobs"] == [None, -0.5, -0.1] and out["top_logprobs"][1] == {"Hi": -0.5, " there": -2.0}
    chat = protocol.chat_logprobs([5], [(-0.5, {5: -0.5})], text)["content"]
    assert chat == [
        {
            "token": "Hi",
            "logprob": -0.5,
            "bytes": [72, 105],
            "top_logprobs": [{"token": "Hi", "logprob": -0.5, "bytes": [72, 105]}],
        }
    ]


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
    from prometheus_client.parser import text_string_to_metric_families

    m = Metrics()
    m.watch(
        lambda: (
            {"env": "prod", "served": {"support": "abc"}, "refused": {"support": "def"}, "loaded": 2}
            | {"swaps": 1, "cut": 0}
        )
    )
    m.observe("completions", "support", "abc", 200, 0.03, tokens=5)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(m.render().decode())
        for s in family.samples
    }
    request = (("endpoint", "completions"), ("model", "support"), ("status", "200"), ("version", "abc"))
    assert samples[("adapterctl_requests_total", request)] == 1
    assert samples[("adapterctl_request_duration_seconds_bucket", (("endpoint", "completions"), ("le", "0.05")))] == 1
    assert samples[("adapterctl_request_duration_seconds_bucket", (("endpoint", "completions"), ("le", "0.025")))] == 0
    assert samples[("adapterctl_generated_tokens_total", (("model", "support"), ("version", "abc")))] == 5
    served = (("adapter", "support"), ("env", "prod"), ("version", "abc"))
    assert samples[("adapterctl_served_version", served)] == 1
    refused = (("adapter", "support"), ("env", "prod"), ("version", "def"))
    assert samples[("adapterctl_refused_version", refused)] == 1
    assert samples[("adapterctl_loaded_adapters", ())] == 2 and samples[("adapterctl_swaps_total", ())] == 1


def test_a_missing_serve_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapterctl.serve as serve

    monkeypatch.setattr(serve, "EXTRA_MODULES", ("fastapi", "no_such_module_for_adapterctl"))
    with pytest.raises(
        UsageError, match=r"needs no_such_module_for_adapterctl: install the extra with .*adapterctl\[serve\]"
    ):
        require_extra()
    monkeypatch.setattr(serve, "EXTRA_MODULES", ("json",))
    require_extra()
