"""Engine.add, the one way a version enters the model, in-process on the tiny model: a load
that raises leaves nothing of the version behind, whether it was the first adapter (the base
is unwrapped again) or one beside others (deleted), and the loaded versions answer as before."""

from __future__ import annotations

import queue

import pytest
from servekit import broken_adapter, forge_version, make_project

from adapterctl import versions
from adapterctl.serve.engine import Job, LoadRefused
from adapterctl.serve.startup import load_engine

pytestmark = pytest.mark.slow


def greedy(engine, slot, prompt: str = "Hello, how are you?") -> str:
    events: queue.Queue = queue.Queue()
    assert engine.acquire(slot)
    engine.submit(Job(slot, engine.encode(prompt), 8, 0.0, 1.0, [], sink=events.put))
    parts = []
    while (event := events.get(timeout=60))[0] == "delta":
        parts.append(event[1])
    assert event[0] == "done", event
    return "".join(parts)


def lora_modules(model) -> int:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return sum(isinstance(m, BaseTunerLayer) for m in model.modules())


def test_a_load_that_raises_leaves_nothing_behind(_example_template, peft_adapters, tmp_path) -> None:
    from adapterctl.core.project import Project

    root, (v1, v2) = make_project(_example_template, tmp_path / "demo", peft_adapters, deploy=False)
    bad_id = forge_version(root, v1, broken_adapter(peft_adapters[2], tmp_path / "bad"))
    bad = versions.resolve(Project(root), f"support@{bad_id}", verify=True)  # passes every hash check
    engine = load_engine(Project(root), dev="cpu")
    # The structural check at the door refuses this version before any load (tests/integration/
    # versions/test_integrity_at_the_door.py); without it, the load itself raises, as any load may
    # (memory, a PEFT error): that path must leave nothing behind too.
    engine.admission = None
    try:
        with pytest.raises(LoadRefused, match="cannot be loaded: RuntimeError"):
            engine.add(bad)  # the first adapter: PEFT had wrapped the base's layers already
        assert engine.model is None and lora_modules(engine.base) == 0
        slot = engine.add(v1)
        before = greedy(engine, slot)
        for _ in range(3):
            with pytest.raises(LoadRefused, match="size mismatch"):
                engine.add(bad)
            assert list(engine.model.peft_config) == [slot.adapter]
            assert [s.version for s in engine.loaded()] == [v1.id]
        assert greedy(engine, slot) == before
        assert engine.add(v2).version == v2.id  # a good version still loads after refusals
    finally:
        engine.stop()
