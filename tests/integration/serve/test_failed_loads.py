"""A version that fails to load is refused whole (issue 16, item 1), against a real
`adapterctl serve` process: the old version keeps serving, /healthz says degraded and why,
a pinned request for the broken version gets the same refusal every time, and 20 failed
loads in a row do not grow the server's memory. Also: ambiguous id prefixes (item 4)."""

from __future__ import annotations

import time

import pytest
from servekit import PROMPTS, broken_adapter, forge_version, metric, move_pointer, rss_mb

pytestmark = pytest.mark.slow
HEADER = "X-Adapter-Version"


def answer(client, model: str = "support"):
    r = client.post("/v1/completions", json={"model": model, "prompt": PROMPTS[0], "max_tokens": 8, "temperature": 0})
    assert r.status_code == 200, r.text
    return r.headers[HEADER], r.json()["choices"][0]["text"]


def wait_refused(client, vid: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = client.get("/healthz").json()
        if any(r["version"] == vid for r in health["refused"]):
            return health
        assert time.monotonic() < deadline, f"{vid[:12]} was not refused: {health}"
        time.sleep(0.1)


def test_a_version_that_fails_to_load_is_refused_whole_and_the_old_one_serves(served, peft_adapters, tmp_path) -> None:
    server, (v1, v2) = served
    bad = forge_version(server.root, v2, broken_adapter(peft_adapters[2], tmp_path / "bad"))
    with server.client() as client:
        before = answer(client)
        assert before[0] == v2.id
        move_pointer(server.root, bad)
        health = wait_refused(client, bad)
        time.sleep(1.0)  # the finding: a half-built adapter was "loaded" 0.2 s after the refusal
        health = client.get("/healthz").json()
        assert health["status"] == "degraded" and health["serving"] == {"support": v2.id}
        (refusal,) = health["refused"]
        assert refusal["adapter"] == "support" and refusal["version"] == bad
        assert "r = 20000" in refusal["reason"], refusal  # refused at the door: the config lies about its tensors
        assert all(not ref.endswith(bad[:12]) for ref in health["loaded"])
        assert answer(client) == before  # same version, same greedy text: not the base, not a hybrid

        pinned = [
            client.post("/v1/completions", json={"model": f"support@{bad[:12]}", "prompt": "hi", "max_tokens": 2})
            for _ in range(3)
        ]
        assert {r.status_code for r in pinned} == {422}
        assert len({r.json()["error"]["message"] for r in pinned}) == 1
        assert pinned[0].json()["error"]["code"] == "model_refused"
        metrics = client.get("/metrics").text
        assert metric(metrics, "adapterctl_refused_version", env="prod", adapter="support", version=bad) == 1
    log = server.stderr()
    assert "refused support@" in log and f"loaded support@{bad[:12]}" not in log


def test_20_failed_loads_in_a_row_keep_memory_flat_and_the_old_version_answering(
    served, peft_adapters, tmp_path
) -> None:
    server, (v1, v2) = served
    broken = [
        forge_version(server.root, v2, broken_adapter(peft_adapters[2], tmp_path / f"bad-{i}", r=20000 + i))
        for i in range(20)
    ]
    with server.client() as client:
        before = answer(client)
        start = rss_mb(server.proc.pid)
        for vid in broken:
            move_pointer(server.root, vid)
            wait_refused(client, vid)
        end = rss_mb(server.proc.pid)
        assert answer(client) == before
        assert client.get("/healthz").json()["serving"] == {"support": v2.id}
    assert end <= start * 1.10, f"RSS grew from {start:.0f} MB to {end:.0f} MB over 20 failed loads"


def test_an_ambiguous_id_prefix_is_a_400_listing_the_candidates_even_after_one_was_loaded(served) -> None:
    server, (v1, v2) = served
    twin = v1.id[:8] + ("0" * 56 if v1.id[8] != "0" else "1" * 56)
    card = v1.path.with_name(f"{v1.id}.toml")
    card.with_name(f"{twin}.toml").write_text(card.read_text().replace(v1.id, twin))
    with server.client() as client:
        assert answer(client, f"support@{v1.id}")[0] == v1.id  # the full id: loaded and answered
        r = client.post("/v1/completions", json={"model": f"support@{v1.id[:8]}", "prompt": "hi", "max_tokens": 2})
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "ambiguous_model" and error["param"] == "model"
        assert v1.id[:12] in error["message"] and twin[:12] in error["message"]
        assert answer(client, f"support@{v1.id[:16]}")[0] == v1.id  # more digits: one version again
