"""The watcher and catalog on a real project (git, DVC, PEFT versions), with a recording
engine in place of the model: which moves are applied, refused, or not read at all."""

from __future__ import annotations

import shutil

import pytest
from servekit import make_project

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.serve.catalog import Catalog, UnknownModel
from adapterctl.serve.engine import Slot
from adapterctl.serve.watcher import EnvironmentWatcher
from adapterctl.store import environments

pytestmark = pytest.mark.slow


class RecordingEngine:
    """The Engine's adapter interface, verifying weights as the real one does, loading nothing."""

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}
        self.retired: list[str] = []

    def add(self, version):
        versions.check_weights(version)
        return self.slots.setdefault(version.id, Slot(version.name, version.id, f"v{version.id[:16]}"))

    def acquire(self, slot: Slot) -> bool:
        slot.inflight += 1
        return True

    def release(self, slot: Slot) -> None:
        slot.inflight -= 1

    def retire(self, slot: Slot) -> None:
        self.retired.append(slot.version)


@pytest.fixture
def watched(_example_template, peft_adapters, tmp_path):
    root, made = make_project(_example_template, tmp_path / "demo", peft_adapters, n=3, deploy=False)
    project = Project(root)
    envs = environments.load(project)
    environments.move(envs, "prod", "support", made[0].id, action="deploy")
    environments.save(project, envs)
    catalog = Catalog(project, RecordingEngine(), "prod", max_loaded=1)
    watcher = EnvironmentWatcher(project, catalog)
    assert watcher.check()
    return project, made, catalog, watcher


def move_to(project, vid: str) -> None:
    envs = environments.load(project)
    environments.move(envs, "prod", "support", vid, action="deploy")
    environments.save(project, envs)


def test_moves_switch_the_name_and_the_lru_keeps_max_loaded(watched) -> None:
    project, (v1, v2, v3), catalog, watcher = watched
    assert catalog.current()["support"].version == v1.id
    assert not watcher.check()  # nothing changed: nothing re-read
    move_to(project, v2.id)
    assert watcher.check() and catalog.current()["support"].version == v2.id
    move_to(project, v3.id)
    watcher.check()
    assert [s.version for s in catalog.spare()] == [v2.id]  # v1 evicted: max_loaded = 1
    assert catalog.engine.retired == [v1.id]
    pinned = catalog.acquire(f"support@{v1.short}")
    assert pinned.version == v1.id and pinned.inflight == 1
    with pytest.raises(UnknownModel, match="not served here"):
        catalog.acquire("docs")


def test_missing_weights_are_refused_and_a_later_good_move_clears_it(watched) -> None:
    project, (v1, v2, v3), catalog, watcher = watched
    shutil.rmtree(v2.path)
    move_to(project, v2.id)
    watcher.check()
    assert catalog.current()["support"].version == v1.id
    assert catalog.refusals["support"].version == v2.id
    assert "weights not available locally" in catalog.refusals["support"].reason
    move_to(project, v3.id)
    watcher.check()
    assert catalog.current()["support"].version == v3.id and not catalog.refusals


def test_an_unreadable_pointer_file_keeps_serving_and_says_why(watched) -> None:
    project, (v1, *_), catalog, watcher = watched
    pointer = environments.pointer_path(project, "prod", "support")
    pointer.write_text(pointer.read_text() + "\n<<<<<<< HEAD\n")
    watcher.check()
    assert watcher.last_error and "merge conflict" in watcher.last_error
    assert catalog.current()["support"].version == v1.id
