"""Where `merge --verify` takes its prompts: the manifest's eval set when it declares the adapter,
built-in prompts when it no longer does, and never silently the built-in ones because the
manifest could not be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import api
from adapterctl.core import faults
from adapterctl.core.errors import ManifestError
from adapterctl.core.project import Project

pytestmark = pytest.mark.slow


def test_a_manifest_broken_during_the_merge_stops_it(project: Path, import_variant, monkeypatch) -> None:
    """The user edits adapterctl.toml into an invalid one while the merge runs: verification
    must say so, not fall back to built-in prompts as if the adapter were undeclared."""
    ref = import_variant()
    manifest = project / "adapterctl.toml"
    real_checkpoint = faults.checkpoint

    def edit_midway(point: str) -> None:
        if point == "merge-shard" and "r = 0" not in manifest.read_text():
            manifest.write_text(manifest.read_text() + "\n[adapters.support.lora]\nr = 0\n")
        real_checkpoint(point)

    monkeypatch.setattr(faults, "checkpoint", edit_midway)
    with pytest.raises(ManifestError, match=r"adapterctl.toml:\d+: adapters.support.lora.r"):
        api.merge(Project(project), ref, project / "merged", dtype="float32")
    assert not (project / "merged").exists()


def test_an_adapter_the_manifest_no_longer_declares_is_verified_on_built_in_prompts(
    project: Path, import_variant
) -> None:
    ref = import_variant()
    manifest = project / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("[adapters.support", "[adapters.helpdesk"))
    result = api.merge(Project(project), ref, project / "merged", dtype="float32")
    assert result.verification is not None and result.verification["passed"]
    assert (project / "merged" / "config.json").is_file()
