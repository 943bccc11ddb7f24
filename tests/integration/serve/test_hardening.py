"""Starting and stopping `adapterctl serve` (issue 16, item 8), as real processes on
127.0.0.1: an empty API key and a busy port are refused in one line with their exit codes
before anything says "serving"; answers still running at the drain limit end with an SSE
error event, and the log counts them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from servekit import PROMPTS, REPO_ROOT, make_project, start_server

pytestmark = pytest.mark.slow


@pytest.fixture
def project(_example_template, peft_adapters, tmp_path):
    root, made = make_project(_example_template, tmp_path / "demo", peft_adapters)
    return root, made


def serve(root, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adapterctl", "serve", "--env", "prod", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("how", ["env", "option"])
def test_an_empty_api_key_is_refused_at_start(project, how) -> None:
    root, _ = project
    if how == "env":
        result = serve(root, "--port", "1", env={"ADAPTERCTL_API_KEY": ""})
    else:
        result = serve(root, "--port", "1", "--api-key", " ")
    assert result.returncode == 2, result.stderr
    assert "is empty" in result.stderr and "Traceback" not in result.stderr and "serving" not in result.stderr


def test_a_busy_port_is_one_line_and_exit_4_before_serving(project) -> None:
    root, _ = project
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(root, "--port", str(port))
    assert result.returncode == 4, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0], result.stderr
    assert "serving" not in result.stderr + result.stdout


def test_streams_open_at_the_drain_limit_end_with_an_error_event_and_are_counted(project) -> None:
    root, _ = project
    server = start_server(root, "--drain-seconds", "0.5")
    payload = {"model": "support", "prompt": PROMPTS[0], "max_tokens": 1000, "temperature": 0, "stream": True}
    with server.client() as client, client.stream("POST", "/v1/completions", json=payload) as r:
        lines = r.iter_lines()
        next(line for line in lines if line.startswith("data: "))
        server.proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        rest = [line for line in lines if line.startswith("data: ")]
    assert rest[-1] == "data: [DONE]"
    error = json.loads(rest[-2][6:])["error"]
    assert error["code"] == "server_shutdown" and "drain limit" in error["message"]
    assert server.proc.wait(timeout=40) == 0 and time.monotonic() - stopped < 15
    assert "1 answer(s) still running after the drain limit" in server.stderr()
