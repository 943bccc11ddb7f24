"""Environments that drive a vLLM server: deploy, rollback and sync against a stand-in that
speaks vLLM's runtime LoRA API on 127.0.0.1 (vLLM itself cannot run on these CPU machines)."""

from __future__ import annotations

import json
import time

import pytest
from servekit import make_project
from vllm_standin import VllmStandIn

from adapterctl.core.project import Project
from adapterctl.store import environments

pytestmark = pytest.mark.slow


def point_prod_at(root, url: str, grace: float) -> None:
    manifest = root / "adapterctl.toml"
    manifest.write_text(
        manifest.read_text() + f'\n[environments.prod]\nserver = "{url}"\nengine = "vllm"\ngrace_seconds = {grace}\n'
    )


@pytest.fixture
def project_v1_v2(_example_template, peft_adapters, tmp_path):
    """The example project with versions v1, v2 of support and no environment yet."""
    return make_project(_example_template, tmp_path / "demo", peft_adapters, deploy=False)


def test_deploy_then_rollback_loads_before_unloading_under_versioned_names(project_v1_v2, cli) -> None:
    root, (v1, v2) = project_v1_v2
    n1, n2 = f"support@{v1.short}", f"support@{v2.short}"
    with VllmStandIn() as vllm:
        point_prod_at(root, vllm.url, grace=0)
        assert cli("deploy", v1.ref, "--env", "prod", cwd=root).exit_code == 0
        assert [c for c in vllm.calls if c[0] != "models"] == [("load", n1)]

        vllm.calls.clear()
        result = cli("deploy", v2.ref, "--env", "prod", "--json", cwd=root)
        assert result.exit_code == 0, result.output
        assert [c for c in vllm.calls if c[0] != "models"] == [("load", n2), ("unload", n1)]
        report = json.loads(result.stdout)["sync"]
        assert report["synced"] and report["adapters"][0]["served_name"] == n2

        vllm.calls.clear()
        result = cli("rollback", "support", "--env", "prod", cwd=root)
        assert result.exit_code == 0, result.output
        assert [c for c in vllm.calls if c[0] != "models"] == [("load", n1), ("unload", n2)]
        assert vllm.adapters == {n1: str(v1.path)}
        assert f"support → {n1}" in result.stderr


def test_a_failed_load_keeps_the_old_version_serving_and_reports_not_synced(project_v1_v2, cli) -> None:
    root, (v1, v2) = project_v1_v2
    n1, n2 = f"support@{v1.short}", f"support@{v2.short}"
    with VllmStandIn() as vllm:
        point_prod_at(root, vllm.url, grace=0)
        assert cli("deploy", v1.ref, "--env", "prod", cwd=root).exit_code == 0
        vllm.fail_loads = True
        vllm.calls.clear()
        result = cli("deploy", v2.ref, "--env", "prod", cwd=root)
        assert result.exit_code == 1
        assert "NOT synced" in result.stderr and "keeps serving the previous version" in result.stderr
        assert [c for c in vllm.calls if c[0] != "models"] == [("load", n2)]  # never unloaded the old one
        assert vllm.adapters == {n1: str(v1.path)}
        assert environments.load(Project(root))["prod"]["support"].version == v2.id  # the pointer did move

        assert cli("sync", "--env", "prod", cwd=root).exit_code == 1  # still failing: still not synced
        vllm.fail_loads = False
        result = cli("sync", "--env", "prod", "--json", cwd=root)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["synced"] is True
        assert vllm.adapters == {n2: str(v2.path)}


def test_the_replaced_version_stays_loaded_for_the_grace_period(project_v1_v2, cli) -> None:
    root, (v1, v2) = project_v1_v2
    n1, n2 = f"support@{v1.short}", f"support@{v2.short}"
    with VllmStandIn() as vllm:
        point_prod_at(root, vllm.url, grace=1.0)
        cli("deploy", v1.ref, "--env", "prod", cwd=root)
        result = cli("deploy", v2.ref, "--env", "prod", "--json", cwd=root)
        assert json.loads(result.stdout)["sync"]["pending_unload"] == [n1]
        assert set(vllm.adapters) == {n1, n2}
        time.sleep(1.1)
        report = json.loads(cli("sync", "--env", "prod", "--json", cwd=root).stdout)
        assert report["unloaded"] == [n1] and set(vllm.adapters) == {n2}


def test_an_unreachable_server_is_reported_not_synced(project_v1_v2, cli) -> None:
    from servekit import free_port

    root, (v1, _) = project_v1_v2
    point_prod_at(root, f"http://127.0.0.1:{free_port()}", grace=0)
    result = cli("deploy", v1.ref, "--env", "prod", cwd=root)
    assert result.exit_code == 1 and "cannot reach the server" in result.stderr
