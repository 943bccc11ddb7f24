"""deploy and rollback reach a running `adapterctl serve` without a restart (real process,
real HTTP, real git + DVC project, real PEFT versions on the tiny model)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from servekit import PROMPTS, metric, reference_answers

from adapterctl.core.project import Project
from adapterctl.store import environments

pytestmark = pytest.mark.slow
HEADER = "X-Adapter-Version"


def complete(client: httpx.Client, prompt: str = PROMPTS[0], model: str = "support", max_tokens: int = 8):
    r = client.post(
        "/v1/completions", json={"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
    )
    assert r.status_code == 200, r.text
    return r


def test_rollback_reaches_the_running_server_within_2s_without_reloading_the_base(served, cli) -> None:
    server, (v1, v2) = served
    with server.client() as client:
        health = client.get("/healthz").json()
        assert health["serving"] == {"support": v2.id} and health["status"] == "ok"
        assert complete(client).headers[HEADER] == v2.id

        result = cli("rollback", "support", "--env", "prod", cwd=server.root)
        assert result.exit_code == 0, result.output
        moved = time.monotonic()
        while True:
            header = complete(client).headers[HEADER]
            if header == v1.id:
                break
            assert header == v2.id
            assert time.monotonic() - moved < 2.0, "the rollback did not reach the server within 2 s"
            time.sleep(0.05)

        after = client.get("/healthz").json()
        assert after["base"] == health["base"] == {"loads": 1, "object_id": health["base"]["object_id"]}
        assert after["uptime_s"] >= health["uptime_s"] and server.proc.poll() is None  # same process
        assert after["serving"] == {"support": v1.id} and after["swaps"] == health["swaps"] + 1
        metrics = client.get("/metrics").text
        assert metric(metrics, "adapterctl_served_version", env="prod", adapter="support", version=v1.id) == 1
        served = {"endpoint": "completions", "model": "support", "version": v2.id, "status": "200"}
        assert metric(metrics, "adapterctl_requests_total", **served) >= 1


def test_200_concurrent_requests_across_a_rollback_each_match_their_version_run_alone(served, cli) -> None:
    server, (v1, v2) = served
    max_tokens = 12
    expected = reference_answers(server.root, {v1.id: v1.path, v2.id: v2.path}, max_tokens)
    assert expected[(v1.id, PROMPTS[0])] != expected[(v2.id, PROMPTS[0])], "the two versions must answer differently"
    rolled = threading.Event()

    async def one(client: httpx.AsyncClient, i: int):
        prompt = PROMPTS[i % 2]
        r = await client.post(
            "/v1/completions", json={"model": "support", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
        )
        return prompt, r

    def rollback() -> None:
        assert cli("rollback", "support", "--env", "prod", cwd=server.root).exit_code == 0
        rolled.set()

    async def storm():
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            tasks = []
            for i in range(100):  # the first half, 10 ms apart, while the rollback happens
                tasks.append(asyncio.create_task(one(client, i)))
                await asyncio.sleep(0.01)
            await asyncio.to_thread(rollback)
            for _ in range(100):  # until the server has switched (the first half may still be in flight)
                if (await client.get("/healthz")).json()["serving"]["support"] == v1.id:
                    break
                await asyncio.sleep(0.05)
            for i in range(100, 200):  # the second half, after the switch
                tasks.append(asyncio.create_task(one(client, i)))
                await asyncio.sleep(0.005)
            return await asyncio.gather(*tasks)

    results = asyncio.run(storm())
    assert rolled.is_set()
    served_by = {v1.id: 0, v2.id: 0}
    for prompt, r in results:
        assert r.status_code == 200, r.text
        version = r.headers[HEADER]
        assert version in served_by
        served_by[version] += 1
        assert r.json()["choices"][0]["text"] == expected[(version, prompt)], f"answer mixed up for {version[:12]}"
    assert served_by[v1.id] > 0 and served_by[v2.id] > 0, (served_by, server.stderr()[-3000:])


def test_a_corrupted_version_is_refused_and_the_old_one_stays_live(served, peft_adapters, corrupt_file) -> None:
    from adapterctl import versions

    server, (v1, v2) = served
    project = Project(server.root)
    v3 = versions.import_folder(project, "support", peft_adapters[2], message="v3")
    corrupt_file(v3.path / "adapter_model.safetensors")
    # A pointer that arrives with `git pull` is not checked by deploy: the server must check it.
    envs = environments.load(project)
    environments.move(envs, "prod", "support", v3.id, action="deploy")
    environments.save(project, envs)

    with server.client() as client:
        deadline = time.monotonic() + 10
        health = client.get("/healthz").json()
        while not health["refused"] and time.monotonic() < deadline:
            time.sleep(0.1)
            health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        (refusal,) = health["refused"]
        assert refusal["adapter"] == "support" and refusal["version"] == v3.id
        assert "do not match" in refusal["reason"]
        assert health["serving"] == {"support": v2.id}
        assert complete(client).headers[HEADER] == v2.id
        metrics = client.get("/metrics").text
        assert metric(metrics, "adapterctl_refused_version", env="prod", adapter="support", version=v3.id) == 1
    assert "refused support@" in server.stderr()


@pytest.fixture
def corrupt_file():
    def _flip(path):
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.chmod(0o644)
        path.write_bytes(bytes(data))

    return _flip


def test_a_stream_in_flight_finishes_on_its_version_which_is_unloaded_after(
    _example_template, peft_adapters, tmp_path, cli
) -> None:
    from servekit import make_project, start_server

    root, (v1, v2) = make_project(_example_template, tmp_path / "demo", peft_adapters)
    expected = reference_answers(root, {v2.id: v2.path}, 900)[(v2.id, PROMPTS[0])]
    server = start_server(root, "--max-loaded", "0")  # keep no replaced version: unload as soon as it is free
    try:
        with server.client() as client:
            payload = {"model": "support", "prompt": PROMPTS[0], "max_tokens": 900, "temperature": 0, "stream": True}
            with client.stream("POST", "/v1/completions", json=payload) as r:
                assert r.headers[HEADER] == v2.id
                lines = r.iter_lines()
                texts = [json.loads(next(line for line in lines if line.startswith("data: "))[6:])]
                assert cli("rollback", "support", "--env", "prod", cwd=root).exit_code == 0
                deadline = time.monotonic() + 10
                while client.get("/healthz").json()["serving"]["support"] != v1.id:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                loaded_during = client.get("/healthz").json()["loaded"]
                texts += [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
            assert "".join(t["choices"][0]["text"] for t in texts) == expected
            assert f"support@{v2.short}" in loaded_during  # still there while the stream ran
            assert complete(client).headers[HEADER] == v1.id
            deadline = time.monotonic() + 10
            while f"support@{v2.short}" in client.get("/healthz").json()["loaded"]:
                assert time.monotonic() < deadline, "v2 should be unloaded once its last request ended"
                time.sleep(0.1)
    finally:
        server.stop()
