"""Served = evaluated, on real trained versions of both example adapters.

`eval` records each row's greedy output; a real `adapterctl serve` process, asked the same
rows as chat messages (system = the row's instruction, user = its input), must answer with
exactly those bytes. `adapterctl verify` must pass against it, and fail when the environment
is moved behind the server's back: the pointer moved in another checkout (as when CI deploys
in git and the server's checkout was never updated), so the server keeps answering with the
old version while the environment names the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servekit import REPO_ROOT, start_server

from adapterctl import api, versions
from adapterctl.core.project import Project
from adapterctl.evaluation import results

pytestmark = pytest.mark.slow
ROWS = 50  # per adapter, sent as chat messages
FAST = ["train.max_steps=30", "train.batch_size=8"]


def adapterctl(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "adapterctl", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def recorded_rows(project: Project, ref: str) -> tuple[list[dict], int]:
    """(recorded result rows, eval's max_new_tokens) of the version's newest eval."""
    version = versions.resolve(project, ref)
    [entry] = version.card.evals().values()
    result = results.read(project.root / entry["results"])
    return result.rows, int(result.header["max_new_tokens"])


@pytest.fixture(scope="module")
def trained(_example_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """The example project with support v1, v2 and docs v1 trained and evaluated (all 100 eval
    rows, the manifest's eval settings), prod = support v1 + docs v1; committed."""
    root = tmp_path_factory.mktemp("served-evaluated") / "demo"
    shutil.copytree(_example_template, root, symlinks=True)
    project = Project(root)
    [s1] = api.train(project, ["support"], overrides=FAST, progress="none")
    [s2] = api.train(project, ["support"], overrides=[*FAST, "train.max_steps=45"], progress="none")
    [d1] = api.train(project, ["docs"], overrides=FAST, progress="none")
    refs = [f"support@{s1.version}", f"support@{s2.version}", f"docs@{d1.version}"]
    card = versions.resolve(project, refs[0]).card  # the format training used travels on the card
    assert card.prompt is not None and card.prompt.to_dict() == {
        "kind": "template",
        "source": "templates/support.txt",
        "text": (root / "templates/support.txt").read_text(),
    }
    api.evaluate(project, refs)
    for ref in (refs[0], refs[2]):
        api.deploy(project, ref, "prod", ignore_gates=True)  # a 30-step adapter misses the example's gates
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "trained and evaluated"], cwd=root, check=True)
    return root, refs


def test_the_servers_chat_answers_equal_evals_recorded_outputs_and_verify_agrees(trained) -> None:
    root, (support1, _, docs1) = trained
    project = Project(root)
    rows_by_hash = {}
    for name in ("support", "docs"):
        for line in (root / f"evals/{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            rows_by_hash[results.row_hash(row)] = row
    server = start_server(root)
    try:
        with server.client() as client:
            for ref in (support1, docs1):
                name = ref.split("@")[0]
                recorded, max_new = recorded_rows(project, ref)
                assert len(recorded) >= ROWS
                for rec in recorded[:ROWS]:
                    row = rows_by_hash[rec["hash"]]
                    messages = [
                        {"role": "system", "content": row["instruction"]},
                        {"role": "user", "content": row["input"]},
                    ]
                    r = client.post(
                        "/v1/chat/completions",
                        json={"model": name, "messages": messages, "max_tokens": max_new, "temperature": 0},
                    )
                    assert r.status_code == 200, r.text
                    assert r.headers["X-Adapter-Version"] == versions.resolve(project, ref).id
                    assert r.json()["choices"][0]["message"]["content"] == rec["output"], (ref, row)

            # /v1/completions stays verbatim: the rendered prompt sent as-is answers the same.
            recorded, max_new = recorded_rows(project, support1)
            r = client.post(
                "/v1/completions",
                json={"model": "support", "prompt": recorded[0]["prompt"], "max_tokens": max_new, "temperature": 0},
            )
            assert r.json()["choices"][0]["text"] == recorded[0]["output"]
            raw = client.post(
                "/v1/completions",
                json={"model": "support", "prompt": rows_by_hash[recorded[0]["hash"]]["input"], "max_tokens": max_new},
            )
            assert raw.status_code == 200 and raw.json()["usage"]["prompt_tokens"] < r.json()["usage"]["prompt_tokens"]

            # A conversation the format cannot take is a 400 that names `messages`.
            bad = client.post(
                "/v1/chat/completions", json={"model": "support", "messages": [{"role": "system", "content": "x"}]}
            )
            assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"

        passed = adapterctl(root, "verify", "--env", "prod", "--url", f"{server.url}/v1", "--json")
        assert passed.returncode == 0, passed.stdout + passed.stderr
        report = json.loads(passed.stdout)
        assert report["passed"] and [a["name"] for a in report["adapters"]] == ["docs", "support"]
        assert all(a["matched"] == a["rows"] == 20 and a["served"] == a["version"] for a in report["adapters"])
        every = adapterctl(
            root, "verify", "--env", "prod", "--url", f"{server.url}/v1", "-a", "docs", "-n", "0", "--json"
        )
        assert every.returncode == 0, every.stdout + every.stderr
        [docs] = json.loads(every.stdout)["adapters"]
        assert docs["matched"] == docs["rows"] == len(recorded_rows(project, docs1)[0]) > 20, "0: no limit"
    finally:
        server.stop()


def test_verify_fails_when_the_environment_moves_behind_the_servers_back(trained, tmp_path: Path) -> None:
    root, (support1, support2, _) = trained
    server = start_server(root)
    try:
        # Another checkout deploys support v2 to prod (as CI would, in git); the server's
        # checkout never sees the move, so it keeps answering with v1.
        other = tmp_path / "other-checkout"
        shutil.copytree(root, other, symlinks=True)
        api.deploy(Project(other), support2, "prod", ignore_gates=True)
        failed = adapterctl(other, "verify", "--env", "prod", "--url", f"{server.url}/v1", "--limit", "5", "--json")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        by_name = {a["name"]: a for a in json.loads(failed.stdout)["adapters"]}
        v1, v2 = (versions.resolve(Project(root), r).id for r in (support1, support2))
        assert not by_name["support"]["passed"] and by_name["support"]["served"] == v1
        assert f"{v2[:12]} is what the environment points at" in by_name["support"]["problem"]
        assert by_name["docs"]["passed"]  # the adapter that did not move still verifies
        human = adapterctl(other, "verify", "--env", "prod", "--url", f"{server.url}/v1", "--limit", "5")
        assert human.returncode == 1 and "does not answer as prod was evaluated: support" in human.stderr

        # Verifying an environment the server does not serve fails the same way.
        api.deploy(Project(root), support2, "staging", ignore_gates=True)
        staging = adapterctl(root, "verify", "--env", "staging", "--url", f"{server.url}/v1", "--limit", "3")
        assert staging.returncode == 1 and v2[:12] in staging.stderr

        # The same move made in the server's own checkout reaches it live, and verify passes.
        api.deploy(Project(root), support2, "prod", ignore_gates=True)
        deadline = time.monotonic() + 60
        with server.client() as client:
            while client.get("/healthz").json()["serving"]["support"] != v2 and time.monotonic() < deadline:
                time.sleep(0.2)
        moved = adapterctl(root, "verify", "--env", "prod", "--url", f"{server.url}/v1", "--limit", "10")
        assert moved.returncode == 0, moved.stdout + moved.stderr
    finally:
        server.stop()


def test_verify_exit_codes_for_what_it_cannot_check(trained) -> None:
    root, _ = trained
    refused = adapterctl(root, "verify", "--env", "prod", "--url", "http://127.0.0.1:9/v1")
    assert refused.returncode == 4 and "cannot reach http://127.0.0.1:9/v1" in refused.stderr
    nothing = adapterctl(root, "verify", "--env", "nosuch", "--url", "http://127.0.0.1:9/v1")
    assert nothing.returncode == 2 and "environment 'nosuch' points at no version" in nothing.stderr
