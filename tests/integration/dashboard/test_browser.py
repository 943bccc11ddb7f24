"""`adapterctl ui` in headless Chromium: the walk through every page with the numbers checked
against the cards, a live pointer move followed within 2 s, and a rollback pressed in the page
that changes the pointer file exactly as `adapterctl rollback` does."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def visit(driver, url: str, shots: Path, name: str | None = None, status: int = 200) -> None:
    driver.get(url)
    time.sleep(0.3)  # charts draw on DOMContentLoaded
    # Chromium logs an error page's own HTTP status as a console error: that one is expected
    errors = [e for e in console_errors(driver) if status == 200 or f"status of {status}" not in e]
    assert not errors, f"{url}: {errors}"
    if name:  # the whole page, up to 2,400 pixels tall
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1360, min(max(height, 700), 2400))
        driver.save_screenshot(str(shots / f"{name}.png"))
        driver.set_window_size(1360, 1000)


def num(value: float) -> str:
    return f"{value:.4g}"


def test_walk_every_page_shows_the_cards_numbers(dash_project, ui_server, browser, shots) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from adapterctl import api, versions
    from adapterctl.core.project import Project

    project = Project(dash_project["root"])
    v1, v2 = (versions.resolve(project, f"support@{dash_project[k][:12]}", verify=False) for k in ("v1", "v2"))

    visit(browser, ui_server + "/", shots, "overview")
    cell = browser.find_element(By.CSS_SELECTOR, 'tr[data-adapter="support"] td[data-env="prod"]')
    assert v2.short in cell.text and "forced" in cell.text and "FAIL" in cell.text
    staging = browser.find_element(By.CSS_SELECTOR, 'tr[data-adapter="support"] td[data-env="staging"]')
    assert v1.short in staging.text

    browser.find_element(By.CSS_SELECTOR, 'tr[data-adapter="support"] a[href="/adapter/support"]').click()
    visit(browser, browser.current_url, shots, "adapter")
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart .uplot"), "the metric charts were not drawn"
    for v in (v1, v2):
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-version="{v.short}"]')
        shown = row.find_element(By.CSS_SELECTOR, 'td[data-metric="rouge_l"]').text
        assert shown == num(v.card.metrics["rouge_l"])

    browser.find_element(
        By.CSS_SELECTOR, f'tr[data-version="{v2.short}"] a[href="/version/support@{v2.short}"]'
    ).click()
    visit(browser, browser.current_url, shots, "version")
    for metric in ("rouge_l", "eval_loss"):
        row = browser.find_element(By.CSS_SELECTOR, f'#metrics tr[data-metric="{metric}"]')
        assert row.find_elements(By.TAG_NAME, "td")[1].text == num(v2.card.metrics[metric])
        assert row.find_elements(By.TAG_NAME, "td")[2].text.startswith("[")  # its 95% interval
    result = api.eval_results(project, v2.ref)
    assert browser.find_element(By.ID, "row-count").text.startswith(f"{len(result.rows)} of {len(result.rows)} rows")
    needle = result.rows[0]["reference"].strip().split("\n")[0][:24]  # one line: a newline would press Enter
    search = browser.find_element(By.ID, "row-search")
    search.send_keys(needle)
    browser.find_element(By.CSS_SELECTOR, ".rows-form button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "q=" in d.current_url)
    visit(browser, browser.current_url, shots)
    matched = int(browser.find_element(By.ID, "row-count").text.split()[0])
    assert (
        1
        <= matched
        == sum(
            needle.lower() in str(r["prompt"]).lower()
            or needle.lower() in str(r["reference"]).lower()
            or needle.lower() in str(r["output"]).lower()
            for r in result.rows
        )
    )

    browser.get(f"{ui_server}/version/{v2.ref}")
    browser.find_element(By.LINK_TEXT, "compare with parent").click()
    visit(browser, browser.current_url, shots, "compare")
    diff = api.diff(project, v1.ref, v2.ref)
    for m in diff.metrics:
        cells = browser.find_elements(By.CSS_SELECTOR, f'#cmp-metrics tr[data-metric="{m.metric}"] td')
        assert [c.text for c in cells[1:3]] == [num(m.a), num(m.b)]
        assert cells[5].text == (m.verdict or "-")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cmp-weights tr")) == len(diff.weights) + 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cmp-spec tr")) == len(diff.spec_changes) + 1

    visit(browser, f"{ui_server}/env/prod", shots, "environment")
    assert browser.find_element(By.CSS_SELECTOR, 'section[data-adapter="support"] code.current').text == v2.short
    assert browser.find_element(By.CSS_SELECTOR, 'section[data-adapter="support"] code.previous').text == v1.short
    assert "higher learning rate" in browser.page_source

    visit(browser, f"{ui_server}/report?base=HEAD~1", shots, "report")
    assert "adapterctl report: this branch vs `HEAD~1`" in browser.find_element(By.TAG_NAME, "h2").text

    visit(browser, f"{ui_server}/version/support@ffffffff", shots, "error", status=404)
    assert "no version of support has an id starting with ffffffff" in browser.find_element(By.ID, "error-message").text
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True).stdout
    assert browser.find_element(By.ID, "error-commit").text.startswith(head[:8])


def test_a_broken_card_is_an_error_page_naming_file_and_commit(dash_project, ui_server, browser, shots) -> None:
    from selenium.webdriver.common.by import By

    card = Path(dash_project["root"]) / "adapters/support" / f"{dash_project['v2']}.toml"
    good = card.read_text()
    card.write_text(good.replace('name = "support"', "name = [broken"), encoding="utf-8")
    try:
        time.sleep(0.3)
        browser.get(f"{ui_server}/adapter/support")
        message = browser.find_element(By.ID, "error-message").text
        assert f"adapters/support/{dash_project['v2']}.toml" in message and "invalid version card" in message
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--abbrev=8", "--", f"adapters/support/{dash_project['v2']}.toml"],
            cwd=dash_project["root"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert commit and commit in browser.find_element(By.TAG_NAME, "table").text
        assert "Traceback" not in browser.page_source
    finally:
        card.write_text(good, encoding="utf-8")


def test_the_page_follows_a_deploy_and_a_rollback_within_two_seconds(dash_project, ui_server, browser) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from adapterctl import api
    from adapterctl.core.project import Project

    project = Project(dash_project["root"])
    console_errors(browser)  # drain what earlier tests left in the log
    browser.get(f"{ui_server}/env/staging")
    current = 'section[data-adapter="support"] code.current'
    v1, v2 = dash_project["v1"][:12], dash_project["v2"][:12]
    assert browser.find_element(By.CSS_SELECTOR, current).text == v1
    for move, expected in (
        (lambda: api.deploy(project, f"support@{v2}", "staging", ignore_gates=True), v2),
        (lambda: api.rollback(project, "support", "staging"), v1),
    ):
        move()
        started = time.monotonic()
        WebDriverWait(browser, 2.0, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)).until(
            lambda d, want=expected: d.find_element(By.CSS_SELECTOR, current).text == want
        )
        assert time.monotonic() - started < 2.0
    assert not console_errors(browser)


def test_pressing_rollback_changes_the_pointer_as_the_cli_does(dash_project, ui_server, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    root = Path(dash_project["root"])
    pointer = root / "environments/prod/support.toml"
    twin = tmp_path / "twin"
    shutil.copytree(root, twin, symlinks=True)  # the same state, for the CLI to roll back
    before = pointer.read_text()

    console_errors(browser)  # drain what earlier tests left in the log
    browser.get(f"{ui_server}/env/prod")
    browser.find_element(By.CSS_SELECTOR, 'section[data-adapter="support"] button[data-action="rollback"]').click()
    alert = WebDriverWait(browser, 5).until(expected_conditions.alert_is_present())
    assert "adapterctl rollback support --env prod" in alert.text
    alert.accept()
    WebDriverWait(browser, 10).until(lambda d: pointer.read_text() != before)
    notice = WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "notice").text or None)
    assert "the same as: adapterctl rollback support --env prod" in notice

    cli = subprocess.run(
        [sys.executable, "-m", "adapterctl", "rollback", "support", "--env", "prod"],
        cwd=twin,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    ui_text, cli_text = pointer.read_text(), (twin / "environments/prod/support.toml").read_text()
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("at = ")]  # noqa: E731
    assert strip(ui_text) == strip(cli_text) and ui_text.count("at = ") == cli_text.count("at = ") == 3
    assert f'version = "{dash_project["v1"]}"' in ui_text
    assert not console_errors(browser)
