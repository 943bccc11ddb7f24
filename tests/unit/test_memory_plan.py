"""The GPU memory plan: a token budget from free memory, checkpointing when it would not fit;
on the CPU the spec stands. Free memory is passed in, so this runs anywhere."""

from __future__ import annotations

from types import SimpleNamespace

from adapterctl.manifest import TrainSpec
from adapterctl.train import memory

SEVEN_B = SimpleNamespace(config=SimpleNamespace(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32))
GB = 2**30


def test_the_cpu_keeps_the_spec() -> None:
    plan = memory.plan(TrainSpec(), SEVEN_B, "cpu", "float32")
    assert plan.max_tokens_per_batch is None and plan.gradient_checkpointing is False and not plan.notices
    plan = memory.plan(TrainSpec(max_tokens_per_batch=999, gradient_checkpointing=True), SEVEN_B, "cpu", "float32")
    assert plan.max_tokens_per_batch == 999 and plan.gradient_checkpointing is True


def test_gpu_default_budget_comes_from_free_memory_with_one_notice() -> None:
    per_token = memory.activation_bytes_per_token(SEVEN_B.config, 2, checkpointing=False)
    assert 5 * 2**20 < per_token < 12 * 2**20, "a 7B LoRA step keeps ~5-12 MB of activations per token"
    plan = memory.plan(TrainSpec(), SEVEN_B, "cuda", "bfloat16", free_bytes=40 * GB)
    assert plan.max_tokens_per_batch == int(40 * GB * memory.HEADROOM) // per_token
    assert plan.gradient_checkpointing is False
    [notice] = plan.notices
    assert "max_tokens_per_batch" in notice and "40 GB" in notice
    big = memory.plan(TrainSpec(), SEVEN_B, "cuda", "bfloat16", free_bytes=1000 * GB)
    assert big.max_tokens_per_batch == memory.MAX_DEFAULT_TOKENS


def test_rows_stay_rows_when_batch_size_was_changed() -> None:
    plan = memory.plan(TrainSpec(batch_size=16), SEVEN_B, "cuda", "bfloat16", free_bytes=100 * GB)
    assert plan.max_tokens_per_batch is None and not plan.notices


def test_several_processes_do_not_choose_budgets_from_their_own_free_memory() -> None:
    plan = memory.plan(TrainSpec(), SEVEN_B, "cuda", "bfloat16", free_bytes=100 * GB, world_size=2)
    assert plan.max_tokens_per_batch is None
    given = memory.plan(
        TrainSpec(max_tokens_per_batch=4096), SEVEN_B, "cuda", "bfloat16", free_bytes=100 * GB, world_size=2
    )
    assert given.max_tokens_per_batch == 4096


def test_checkpointing_switches_on_when_the_budget_would_not_fit() -> None:
    plan = memory.plan(TrainSpec(max_tokens_per_batch=32768), SEVEN_B, "cuda", "bfloat16", free_bytes=60 * GB)
    assert plan.max_tokens_per_batch == 32768 and plan.gradient_checkpointing is True
    assert any("gradient checkpointing switched on" in n for n in plan.notices)
    small = memory.plan(TrainSpec(max_tokens_per_batch=2048), SEVEN_B, "cuda", "bfloat16", free_bytes=60 * GB)
    assert small.gradient_checkpointing is False and not small.notices
    # Too little memory even for one row of max_length: the default budget needs checkpointing.
    tight = memory.plan(TrainSpec(), SEVEN_B, "cuda", "bfloat16", free_bytes=2 * GB)
    assert tight.gradient_checkpointing is True and tight.max_tokens_per_batch > TrainSpec().max_length, (
        "with checkpointing, more than one row fits"
    )
