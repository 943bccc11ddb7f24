"""The registry: cards and environment pointers read once, answering deploy/rollback/log questions.
Cards and pointer files only: no weights, no git, no DVC."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl.core.errors import MergeConflict, RefError
from adapterctl.core.project import Project
from adapterctl.store import environments
from adapterctl.versions import card as cards
from adapterctl.versions.registry import Registry

A, B, C = ("a" * 64), ("b" * 64), ("c" * 64)


def _card(project: Project, vid: str, created: str, parent: str = "", name: str = "support") -> None:
    path = project.adapter_dir(name) / f"{vid}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cards.dump({"schema_version": 2, "name": name, "id": vid, "parent": parent, "created": created}))


@pytest.fixture
def store(tmp_path: Path) -> Project:
    (tmp_path / "adapterctl.toml").write_text('[base]\nmodel = "m"\n[adapters.support]\ndata = "d.jsonl"\n')
    project = Project(tmp_path)
    _card(project, A, "2026-01-01T00:00:00.000000Z")
    _card(project, B, "2026-01-02T00:00:00.000000Z", parent=A)
    _card(project, C, "2026-01-01T00:00:00.000000Z", name="docs")
    envs: environments.Environments = {}
    for to in (A, B, A):
        environments.move(envs, "prod", "support", to, action="deploy")
    environments.move(envs, "staging", "support", B, action="deploy")
    environments.save(project, envs)
    return project


def test_versions_and_pointers_are_read_once(store: Project) -> None:
    registry = Registry(store)
    assert [v.id for v in registry.log("support")] == [B, A]
    assert registry.log("support") is registry.log("support")
    assert registry.names() == ["docs", "support"] and len(registry.all_versions()) == 3
    assert registry.serving("support") == {A: ["prod"], B: ["staging"]} and registry.served_ids() == {A, B}
    environments.pointer_path(store, "prod", "support").write_text("not toml [")  # what was read stays read
    assert registry.resolve("support@prod").id == A


def test_previous_and_by_id_answer_rollback(store: Project) -> None:
    registry = Registry(store)
    assert registry.pointer("prod", "support").version == A
    assert registry.previous("staging", "support") is None  # one move: nowhere to go back to
    assert registry.by_id("support", B).ref == f"support@{B[:12]}" and registry.by_id("support", C) is None


def test_the_lock_file_is_read_only_when_a_question_needs_it(store: Project) -> None:
    environments.pointer_path(store, "prod", "support").write_text("<<<<<<< HEAD\n")
    registry = Registry(store)
    assert registry.resolve("support@~1").id == A  # no environment involved
    with pytest.raises(MergeConflict, match="merge conflict"):
        registry.resolve("support@prod")


def test_an_environment_without_the_adapter_is_a_ref_error(store: Project) -> None:
    with pytest.raises(RefError, match="does not serve docs"):
        Registry(store).resolve("docs@prod")
