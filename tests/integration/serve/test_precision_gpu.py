"""Serving precision on CUDA (issue 16, item 9): the base loads in the precision the
manifest declares, nf4 through bitsandbytes or bf16 weights, and versions load and answer
on it (mixed-batch adapters included). On a CPU the base stays float32 (checked here too).

Run on a CUDA machine with `pytest -m gpu tests/integration/serve/test_precision_gpu.py`.
"""

from __future__ import annotations

import math
import queue
import re

import pytest
import torch
from servekit import make_project

from adapterctl.core.project import Project
from adapterctl.serve.engine import Job
from adapterctl.serve.startup import load_engine

pytestmark = pytest.mark.slow
needs_cuda = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def answer(engine, slots, prompt: str = "Hello, how are you?") -> list[tuple]:
    """One greedy answer per slot, all in one batch; each with its logprobs."""
    events: list[queue.Queue] = []
    for slot in slots:
        assert engine.acquire(slot)
        events.append(queue.Queue())
        engine.submit(Job(slot, engine.encode(prompt), 8, 0.0, 1.0, [], sink=events[-1].put, logprobs=1))
    out = []
    for q in events:
        while (event := q.get(timeout=120))[0] == "delta":
            pass
        out.append(event)
    return out


def set_quantization(root, value: str) -> None:
    manifest = root / "adapterctl.toml"
    text, n = re.subn(r'(?m)^quantization = "[a-z0-9]+"', f'quantization = "{value}"', manifest.read_text())
    assert n == 1, "the example manifest declares [train] quantization once"
    manifest.write_text(text)


@pytest.mark.parametrize("quantization", [pytest.param(q, marks=needs_cuda) for q in ("nf4", "none")])
def test_cuda_serves_in_the_declared_precision(_example_template, peft_adapters, tmp_path, quantization) -> None:
    root, (v1, v2) = make_project(_example_template, tmp_path / "demo", peft_adapters, deploy=False)
    set_quantization(root, quantization)
    engine = load_engine(Project(root))
    try:
        assert engine.precision["device"] == "cuda" and engine.precision["quantization"] == quantization
        expected_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        assert engine.precision["dtype"] == str(expected_dtype).removeprefix("torch.")
        if quantization == "nf4":
            import bitsandbytes as bnb

            assert any(isinstance(m, bnb.nn.Linear4bit) for m in engine.base.modules())
        else:
            assert {p.dtype for p in engine.base.parameters()} == {expected_dtype}
        slots = [engine.add(v1), engine.add(v2)]
        events = answer(engine, slots)
        assert all(e[0] == "done" and e[2]["completion_tokens"] > 0 for e in events), events
    finally:
        engine.stop()


def test_cpu_serves_in_full_precision(_example_template, peft_adapters, tmp_path) -> None:
    root, (v1,) = make_project(_example_template, tmp_path / "demo", peft_adapters, n=1, deploy=False)
    engine = load_engine(Project(root), dev="cpu")  # the manifest declares nf4: a CPU ignores it
    try:
        assert engine.precision == {"device": "cpu", "dtype": "float32", "quantization": "none"}
        assert {p.dtype for p in engine.base.parameters()} == {torch.float32}
        slot = engine.add(v1)
        assert engine.acquire(slot)
        events: queue.Queue = queue.Queue()
        job = Job(slot, engine.encode("Hi"), 4, 0.0, 1.0, [], sink=events.put, logprobs=0)
        engine.submit(job)
        while events.get(timeout=60)[0] == "delta":
            pass
        assert job.token_logprobs and all(math.isfinite(lp) and lp <= 0 for lp, _ in job.token_logprobs)
    finally:
        engine.stop()
