"""The dashboard's guards, in-process over the example project (no training, no browser):
keys, read-only refusals, error pages without tracebacks, and a light `--help`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def client_for(example_project: Path):
    from fastapi.testclient import TestClient

    from adapterctl import api
    from adapterctl.dashboard.app import build

    def make(**options) -> TestClient:
        return TestClient(build(api.open_project(example_project), api, **options))

    return make


def test_any_host_but_localhost_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapterctl.core.errors import UsageError
    from adapterctl.dashboard.server import UiOptions, check_exposure

    monkeypatch.delenv("ADAPTERCTL_API_KEY", raising=False)
    assert check_exposure(UiOptions("127.0.0.1")) is None
    with pytest.raises(UsageError, match=r"--host 0\.0\.0\.0: only 127\.0\.0\.1 may be used without a key"):
        check_exposure(UiOptions("0.0.0.0"))
    assert check_exposure(UiOptions("0.0.0.0", api_key="s3cret")) == "s3cret"
    monkeypatch.setenv("ADAPTERCTL_API_KEY", "from-env")
    assert check_exposure(UiOptions("0.0.0.0")) == "from-env"


@pytest.mark.slow
def test_the_cli_refuses_an_exposed_host_in_one_line(example_project: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "ADAPTERCTL_API_KEY"} | {"PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "adapterctl", "ui", "--host", "0.0.0.0", "--port", "8699"],
        cwd=example_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--api-key" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_busy_port_is_one_line_and_exit_4(example_project: Path) -> None:
    """The same check as `serve`'s (listening.bind): storage/network exit code, no stack."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "adapterctl", "ui", "--port", str(port)],
            cwd=example_project,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 4, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0], result.stderr


def test_a_key_is_needed_then_remembered_by_cookie(client_for) -> None:
    client = client_for(api_key="s3cret")
    assert client.get("/", headers={"accept": "text/html"}).status_code == 401
    assert client.get("/live").status_code == 401
    assert client.get("/live", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/live", headers={"authorization": "Bearer s3cret"}).status_code == 200
    opened = client.get("/?key=s3cret", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    assert "samesite=strict" in opened.headers["set-cookie"].lower()
    assert client.get("/").status_code == 200  # the cookie now carries the key
    assert client.get("/static/uPlot.iife.min.js").status_code == 200


def test_read_only_refuses_actions(client_for, example_project: Path) -> None:
    client = client_for()
    answer = client.post(
        "/actions/rollback", json={"name": "support", "env": "prod"}, headers={"x-adapterctl-action": "1"}
    )
    assert answer.status_code == 403 and "--allow-actions" in answer.json()["error"]
    acting = client_for(allow_actions=True)
    assert acting.post("/actions/rollback", json={"name": "support", "env": "prod"}).status_code == 403  # no header
    refused = acting.post(
        "/actions/rollback", json={"name": "support", "env": "prod"}, headers={"x-adapterctl-action": "1"}
    )
    assert refused.status_code == 404 and "support has no versions yet" in refused.json()["error"]
    assert not (example_project / "environments").exists()


def test_errors_are_pages_with_the_message_and_commit(client_for, example_project: Path) -> None:
    client = client_for()
    assert client.get("/").status_code == 200  # no versions yet: the overview still draws
    page = client.get("/adapter/suport")
    assert page.status_code == 404
    assert "no adapter named &#39;suport&#39;; did you mean &#39;support&#39;?" in page.text
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=example_project, capture_output=True, text=True).stdout
    assert head[:8] in page.text and "Traceback" not in page.text
    manifest = example_project / "adapterctl.toml"
    manifest.write_text(manifest.read_text() + "\n[adapters.broken\n")
    time.sleep(0.3)  # the stamp is re-read at most every 0.2 s
    overview = client.get("/")  # the registry is still shown; the manifest's problem is named
    assert (
        overview.status_code == 200 and 'id="manifest-problem"' in overview.text and "adapterctl.toml" in overview.text
    )


@pytest.mark.slow
def test_help_imports_no_web_stack() -> None:
    code = "import sys; from adapterctl.cli import main; main(['--help']); print(sorted(m for m in ('fastapi', 'uvicorn', 'jinja2', 'torch') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    ).stdout
    assert out.strip().endswith("[]"), out[-300:]
