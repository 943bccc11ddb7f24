"""A base that is not on this machine cannot be hashed: the command says so once, and the card
records the hash as unknown (with why) instead of an empty hash nobody notices."""

from __future__ import annotations

import json
from pathlib import Path

import tomllib

HUB_BASE = "nobody-here/not-cached-base"  # a hub id; the tests' hub is offline with an empty cache


def _point_base_at_the_hub(project: Path, git) -> None:
    manifest = project / "adapterctl.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('model = "models/tiny-base"', f'model = "{HUB_BASE}"', 1))
    git(project, "commit", "-qam", "base from the hub")


def test_an_uncached_hub_base_is_warned_about_once_and_recorded_as_unknown(
    project: Path, adapters: list[Path], git, run
) -> None:
    _point_base_at_the_hub(project, git)
    result = run("import", "support", str(adapters[0]), "--any-base", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    warning = f"base {HUB_BASE}: neither a folder here nor in the local Hugging Face cache"
    assert result.stderr.count(warning) == 1, result.stderr  # fingerprinted twice (card, admission): said once

    vid = json.loads(result.stdout)["id"]
    card = tomllib.loads((project / "adapters" / "support" / f"{vid}.toml").read_text())
    assert card["base"]["hash"] == "" and card["base"]["model"] == HUB_BASE
    assert "Hugging Face cache" in card["base"]["hash_unknown"]

    log = run("log", "support", "--json", cwd=project, check=True)
    assert "Hugging Face cache" in json.loads(log.stdout)[0]["base_hash_unknown"]
    assert "(base not hashed)" in run("log", "support", cwd=project, check=True).stdout
    report = run("report", "--base", "HEAD", cwd=project)
    assert report.returncode == 0, report.stderr
    assert f"**Base not hashed:** support@{vid[:8]}" in report.stdout


def test_a_local_base_is_hashed_without_a_warning(project: Path, adapters: list[Path], run) -> None:
    result = run("import", "support", str(adapters[0]), "--json", cwd=project, check=True)
    assert "warning" not in result.stderr
    card = tomllib.loads((project / "adapters" / "support" / f"{json.loads(result.stdout)['id']}.toml").read_text())
    assert len(card["base"]["hash"]) == 64 and "hash_unknown" not in card["base"]


def test_a_dvc_tracked_base_not_pulled_says_how_to_get_it(tmp_path: Path) -> None:
    from adapterctl.core.project import Project
    from adapterctl.store import fingerprints

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.dvc").write_text("outs:\n- path: base\n")
    facts = fingerprints.base_fingerprint(
        Project(tmp_path), "models/base", None, fingerprints.FileCache(Project(tmp_path))
    )
    assert facts["hash"] == "" and "DVC-tracked but not pulled here" in facts["hash_unknown"]
    assert "adapterctl pull" in facts["hash_unknown"]
