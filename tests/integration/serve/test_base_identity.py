"""The server puts a version only on the base its card records (issue 16, item 3): a version whose
base is not the one the server loaded is refused with both hashes, and never answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from servekit import REPO_ROOT, free_port, make_project, start_server

from adapterctl import api, versions
from adapterctl.core.project import Project
from adapterctl.store import fingerprints
from adapterctl.tiny import build_tiny_model

pytestmark = pytest.mark.slow
BASE = "models/tiny-base"


def _base_hash(root) -> str:
    return fingerprints.model_hashes(root / BASE, fingerprints.FileCache(Project(root)))[0]


def test_serve_refuses_to_start_on_a_base_its_versions_were_not_trained_on(
    _example_template, peft_adapters, tmp_path
) -> None:
    root, (v1,) = make_project(_example_template, tmp_path / "demo", peft_adapters, n=1)
    build_tiny_model(root / BASE, seed=5)  # other weights under the same name
    here = _base_hash(root)
    assert v1.card.base.hash and here != v1.card.base.hash
    result = subprocess.run(
        [sys.executable, "-m", "adapterctl", "serve", "--env", "prod", "--port", str(free_port())],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "serving" not in result.stdout
    assert f"refused support@{v1.id[:12]}" in result.stderr
    assert v1.card.base.hash in result.stderr and here in result.stderr


def test_a_move_to_a_version_on_another_base_is_refused_and_the_old_one_keeps_serving(
    _example_template, peft_adapters, tmp_path
) -> None:
    """The server checks against the base it loaded, fingerprinted once at start: a version
    registered after the base folder changed is refused even though `deploy` (which checks the
    base on disk) let it through."""
    root, (v1,) = make_project(_example_template, tmp_path / "demo", peft_adapters, n=1)
    loaded_hash = v1.card.base.hash
    server = start_server(root)
    try:
        build_tiny_model(root / BASE, seed=5)
        v2 = versions.import_folder(Project(root), "support", peft_adapters[1], any_base=True)
        assert v2.card.base.hash == _base_hash(root) != loaded_hash
        api.deploy(Project(root), v2.ref, "prod")
        deadline = time.monotonic() + 20
        while f"refused support@{v2.id[:12]}" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        with server.client() as client:
            r = client.post("/v1/completions", json={"model": "support", "prompt": "Hello", "max_tokens": 4})
            assert r.status_code == 200 and r.headers["X-Adapter-Version"] == v1.id
    finally:
        server.stop()
    refusal = next(line for line in server.stderr().splitlines() if f"refused support@{v2.id[:12]}" in line)
    assert loaded_hash in refusal and v2.card.base.hash in refusal


def test_vllm_sync_never_loads_a_version_on_another_base(_example_template, peft_adapters, tmp_path, cli) -> None:
    from vllm_standin import VllmStandIn

    root, (v1,) = make_project(_example_template, tmp_path / "demo", peft_adapters, n=1, deploy=False)
    manifest = root / "adapterctl.toml"
    with VllmStandIn() as vllm:
        manifest.write_text(manifest.read_text() + f'\n[environments.prod]\nserver = "{vllm.url}"\nengine = "vllm"\n')
        assert cli("deploy", v1.ref, "--env", "prod", cwd=root).exit_code == 0
        assert vllm.adapters
    build_tiny_model(root / BASE, seed=5)
    with VllmStandIn() as restarted:  # a fresh vLLM server on the changed base
        manifest.write_text(manifest.read_text().replace(vllm.url, restarted.url))
        result = cli("sync", "--env", "prod", "--json", cwd=root)
        assert result.exit_code == 1, result.output
        error = json.loads(result.stdout)["adapters"][0]["error"]
        assert v1.card.base.hash in error and _base_hash(root) in error
        assert not [c for c in restarted.calls if c[0] == "load"] and restarted.adapters == {}
