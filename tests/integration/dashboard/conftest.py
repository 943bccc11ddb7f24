"""A project with two trained and evaluated versions of `support` (real training and eval on
the tiny model, cut down to seconds), one `adapterctl ui` process over it, and headless
Chromium (Debian's chromium + chromium-driver) driven by selenium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FAST = ["train.max_steps=4", "train.eval_steps=2", "train.batch_size=8"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dash_project(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two versions of support (v1 its parent), both evaluated; prod moved v1 → v2 (forced: the
    tiny model fails the example's rouge gate), staging at v1; everything committed."""
    from adapterctl import api
    from adapterctl.core.project import Project
    from adapterctl.store import storage

    root = tmp_path_factory.mktemp("dash") / "demo"
    api.init(root, example=True, remote=str(root.parent / "remote"))
    for name in ("support", "docs"):
        data = root / f"data/{name}.jsonl"
        data.write_text("".join(data.read_text().splitlines(keepends=True)[:200]))
        evals = root / f"evals/{name}.jsonl"
        evals.write_text("".join(evals.read_text().splitlines(keepends=True)[:8]))
    manifest = root / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("max_new_tokens = 64", "max_new_tokens = 16"))
    storage.track(root, [*root.glob("data/*.jsonl"), *root.glob("evals/*.jsonl")])
    git(root, "add", "-A")
    git(root, "commit", "-qm", "small example")
    project = Project(root)
    ids = []
    for lr in ("1e-3", "5e-3"):
        [result] = api.train(project, ["support"], overrides=[*FAST, f"train.learning_rate={lr}"], progress="none")
        ids.append(result.version)
    api.evaluate(project, [f"support@{vid[:12]}" for vid in ids])
    api.deploy(project, f"support@{ids[0][:12]}", "prod", message="first release", ignore_gates=True)
    api.deploy(project, f"support@{ids[1][:12]}", "prod", message="higher learning rate", ignore_gates=True)
    api.deploy(project, f"support@{ids[0][:12]}", "staging", ignore_gates=True)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two versions, deployed")
    return {"root": root, "v1": ids[0], "v2": ids[1]}


@pytest.fixture(scope="module")
def ui_server(dash_project: dict, tmp_path_factory: pytest.TempPathFactory):
    """`adapterctl ui --allow-actions` over the project, as its own process; yields its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("ui-log") / "stderr.txt").open("w+")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adapterctl",
            "ui",
            "--port",
            str(port),
            "--allow-actions",
            "-C",
            str(dash_project["root"]),
        ],
        env=env,
        stdout=log,
        stderr=log,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import httpx

    while True:
        try:
            if httpx.get(f"{url}/live", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            raise AssertionError(f"adapterctl ui did not start: {log.read()[-2000:]}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.seek(0)
    err = log.read()
    assert "Traceback" not in err, err[-3000:]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with its console log readable; skipped (with the reason) without one."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("no headless browser: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1360,1000",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $ADAPTERCTL_UI_SCREENSHOTS (docs/ui to refresh the committed set), else tmp."""
    folder = Path(os.environ.get("ADAPTERCTL_UI_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
