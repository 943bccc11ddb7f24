"""The official `openai` SDK against a real `adapterctl serve` (issue 16, items 7 and 8):
models, chat, streaming, completions, logprobs and echo (checked against plain
transformers + PEFT), seed, and the error shapes of refused fields, bad keys and unknown models."""

from __future__ import annotations

import httpx
import openai
import pytest
from servekit import PROMPTS, make_project, reference_answers, start_server

pytestmark = pytest.mark.slow
KEY = "sdk-key-456"


@pytest.fixture(scope="module")
def live(_example_template, peft_adapters, tmp_path_factory):
    root, made = make_project(_example_template, tmp_path_factory.mktemp("serve-sdk") / "demo", peft_adapters)
    server = start_server(root, env={"ADAPTERCTL_API_KEY": KEY})
    yield server, made
    server.stop()


@pytest.fixture
def sdk(live):
    server, _ = live
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=120)


def model_logprobs(root, version, ids: list[int]) -> list[float]:
    """log P(ids[i] | ids[:i]) for i >= 1, from plain transformers + PEFT."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(root / "models/tiny-base"), str(version.path)
    )
    with torch.inference_mode():
        rows = torch.log_softmax(model.eval()(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    return [float(rows[i - 1, ids[i]]) for i in range(1, len(ids))]


def greedy_ids(root, version, prompt_ids: list[int], n: int) -> list[int]:
    """The ids plain transformers + PEFT generates greedily after `prompt_ids` (not re-tokenized
    text: BPE may merge tokens across the end of the prompt)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(root / "models/tiny-base"), str(version.path)
    ).eval()
    with torch.inference_mode():
        out = model.generate(input_ids=torch.tensor([prompt_ids]), max_new_tokens=n, do_sample=False)
    return out[0, len(prompt_ids) :].tolist()


def tokenize(root, text: str) -> list[int]:
    from transformers import AutoTokenizer

    return list(AutoTokenizer.from_pretrained(root / "models/tiny-base")(text)["input_ids"])


def test_models_chat_and_streaming(live, sdk) -> None:
    _, (v1, v2) = live
    assert [m.id for m in sdk.models.list()][0] == "support"
    raw = sdk.chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": "hi"}], max_tokens=6, temperature=0
    )
    assert raw.headers["X-Adapter-Version"] == v2.id
    whole = raw.parse().choices[0].message.content
    stream = sdk.chat.completions.create(
        model="support", messages=[{"role": "user", "content": "hi"}], max_tokens=6, temperature=0, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == whole


def test_completions_logprobs_and_echo_are_the_models_own(live, sdk) -> None:
    server, (v1, v2) = live
    expected = reference_answers(server.root, {v2.id: v2.path}, 8)[(v2.id, PROMPTS[0])]
    out = sdk.completions.create(model="support", prompt=PROMPTS[0], max_tokens=8, temperature=0, logprobs=3)
    choice = choice0 = out.choices[0]
    assert choice.text == expected
    lp = choice.logprobs
    assert "".join(lp.tokens) == expected and len(lp.token_logprobs) == len(lp.tokens)
    for chosen, top in zip(lp.token_logprobs, lp.top_logprobs, strict=True):
        assert len(top) == 3 and max(top.values()) == pytest.approx(chosen, abs=1e-5)  # greedy: the top token
    prompt_ids = tokenize(server.root, PROMPTS[0])
    answer_ids = greedy_ids(server.root, v2, prompt_ids, 8)[: len(lp.tokens)]
    full = model_logprobs(server.root, v2, prompt_ids + answer_ids)
    assert sum(lp.token_logprobs) == pytest.approx(sum(full[len(prompt_ids) - 1 :]), abs=1e-3)

    # lm-evaluation-harness's loglikelihood request: echo, max_tokens 0, token ids in.
    echo = sdk.completions.create(model="support", prompt=[prompt_ids], max_tokens=0, echo=True, logprobs=1)
    lp = echo.choices[0].logprobs
    assert echo.choices[0].text == PROMPTS[0] and lp.token_logprobs[0] is None
    assert lp.token_logprobs[1:] == pytest.approx(model_logprobs(server.root, v2, prompt_ids), abs=1e-4)
    assert choice0.logprobs.text_offset[0] == 0 and lp.text_offset[-1] < len(PROMPTS[0])


def test_chat_logprobs_and_seeded_sampling(sdk) -> None:
    out = sdk.chat.completions.create(
        model="support",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=5,
        temperature=0,
        logprobs=True,
        top_logprobs=2,
    )
    content = out.choices[0].logprobs.content
    assert "".join(t.token for t in content) == out.choices[0].message.content
    assert all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in content)

    def sample(seed: int) -> str:
        return (
            sdk.completions.create(model="support", prompt=PROMPTS[1], max_tokens=24, temperature=1.0, seed=seed)
            .choices[0]
            .text
        )

    assert sample(7) == sample(7) and sample(7) != sample(8)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"logit_bias": {"1": 5}}, "logit_bias"),
        ({"extra_body": {"top_k": 5}}, "top_k"),
        ({"extra_body": {"mirostat": 1}}, "mirostat"),
        ({"logprobs": True, "stream": True}, "logprobs"),
    ],
)
def test_fields_that_would_change_the_answer_are_refused_by_name(sdk, kwargs, param) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        result = sdk.chat.completions.create(model="support", messages=[{"role": "user", "content": "hi"}], **kwargs)
        list(result) if kwargs.get("stream") else None
    assert caught.value.status_code == 400 and caught.value.body["param"] == param
    assert param in caught.value.body["message"]


def test_error_shapes(live, sdk) -> None:
    server, _ = live
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.completions.create(model="nope", prompt="hi")
    assert caught.value.body["code"] == "model_not_found"
    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.completions.create(model="support", prompt="hi", max_tokens=0)  # 0 only with echo
    assert caught.value.body["param"] == "max_tokens"


def test_healthz_without_the_key_says_only_status(live) -> None:
    server, (v1, v2) = live
    anonymous = httpx.get(f"{server.url}/healthz", timeout=10).json()
    assert anonymous == {"status": "ok"}
    full = httpx.get(f"{server.url}/healthz", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()
    assert full["serving"] == {"support": v2.id} and "refused" in full and full["precision"]["device"] == "cpu"


def test_metrics_parse_as_prometheus_exposition(live, sdk) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    server, (v1, v2) = live
    sdk.completions.create(model="support", prompt="hi", max_tokens=2)
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    served = [s for s in families["adapterctl_served_version"].samples]
    assert [(s.labels["version"], s.value) for s in served] == [(v2.id, 1.0)]
    requests = families["adapterctl_requests"].samples
    assert any(s.labels["status"] == "200" and s.labels["version"] == v2.id and s.value >= 1 for s in requests)
    assert families["adapterctl_request_duration_seconds"].type == "histogram"
