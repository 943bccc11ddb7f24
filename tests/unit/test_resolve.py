"""Resolving references against cards: id prefixes (ambiguous ones list candidates), ~N, log order.
Cards only: no weights, no DVC, so these run in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import versions
from adapterctl.core.errors import IntegrityError, MergeConflict, RefError, StorageError
from adapterctl.core.project import Project


def _card(project: Project, vid: str, *, created: str, parent: str = "", name: str = "support") -> str:
    card = {"schema": 1, "name": name, "id": vid, "parent": parent, "created": created, "message": f"m-{vid[:4]}"}
    path = project.adapter_dir(name) / f"{vid}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(versions.dump_card(card))
    return vid


@pytest.fixture
def store(tmp_path: Path) -> Project:
    (tmp_path / "adapterctl.toml").write_text('[base]\nmodel = "m"\n[adapters.support]\ndata = "d.jsonl"\n')
    return Project(tmp_path)


def test_ambiguous_prefix_lists_the_candidates(store: Project) -> None:
    one = _card(store, "abcd1" + "0" * 59, created="2026-01-01T00:00:00.000000Z")
    two = _card(store, "abcd2" + "0" * 59, created="2026-01-02T00:00:00.000000Z", parent=one)
    with pytest.raises(RefError) as info:
        versions.resolve(store, "support@abcd", verify=False)
    message = str(info.value)
    assert "ambiguous" in message and one[:12] in message and two[:12] in message
    assert versions.resolve(store, "support@abcd2", verify=False).id == two
    with pytest.raises(RefError, match="no version of support has an id starting with ffff"):
        versions.resolve(store, "support@ffff", verify=False)


def test_steps_back_follow_parents_and_log_never_puts_a_parent_first(store: Project) -> None:
    a = _card(store, "a" * 64, created="2026-01-03T00:00:00.000000Z")  # clocks disagree across machines:
    b = _card(store, "b" * 64, created="2026-01-01T00:00:00.000000Z", parent=a)  # b is a's child all the same
    c = _card(store, "c" * 64, created="2026-01-02T00:00:00.000000Z", parent=b)
    assert [v.id for v in versions.log(store, "support")] == [c, b, a]
    assert versions.resolve(store, "support", verify=False).id == c
    assert versions.resolve(store, "support@~2", verify=False).id == a
    with pytest.raises(RefError, match="first version"):
        versions.resolve(store, "support@~3", verify=False)


def test_verify_needs_the_weights(store: Project) -> None:
    _card(store, "a" * 64, created="2026-01-01T00:00:00.000000Z")
    with pytest.raises(StorageError, match="adapterctl pull support@aaaaaaaaaaaa"):
        versions.resolve(store, "support")


def test_a_card_that_lies_about_its_id_or_holds_conflict_markers_is_refused(store: Project) -> None:
    vid = _card(store, "a" * 64, created="2026-01-01T00:00:00.000000Z")
    path = store.adapter_dir("support") / f"{vid}.toml"
    path.rename(path.with_name("b" * 64 + ".toml"))
    with pytest.raises(IntegrityError, match="does not match its file name"):
        versions.log(store, "support")
    path.with_name("b" * 64 + ".toml").write_text("<<<<<<< HEAD\nid = 1\n=======\n>>>>>>> x\n")
    with pytest.raises(MergeConflict, match="merge conflict"):
        versions.log(store, "support")
