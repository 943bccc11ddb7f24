"""The two calls into PEFT/transformers the engine makes: add an adapter beside the others,
and run one batch in which every row uses its own adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Row(Protocol):
    """What a batch needs of one request (the engine's `Job`); typed here so that this module
    does not import the engine that imports it."""

    prompt_ids: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    slot: Any  # .adapter: the PEFT adapter name the row runs on
    logprobs: int | None  # top logprobs wanted per generated token (None: none)
    echo_logprobs: bool  # completions' echo: the prompt tokens' logprobs too
    prompt_logprobs: list[Any]
    seed: int | None  # a seeded sampled row runs alone


class Host(Protocol):
    """What a batch needs of the engine that runs it."""

    tokenizer: Any
    eos_ids: list[int]
    base: Any
    model: Any

    def step(self, jobs: Any, tokens: list[int], logprobs: Any = None) -> list[bool]: ...  # each row's new token


def generate_batch(engine: Host, jobs: Sequence[Row]) -> None:
    """One `generate` call: left-padded prompts, each row on its own adapter (PEFT's
    mixed-batch `adapter_names`); a stopping criterion hands every new token to the engine.

    Jobs that asked for logprobs get them from the model's own distribution at each step
    (recorded before temperature or top_p reshape it); echo's prompt logprobs come from one
    forward pass over the prompt. A job with max_tokens 0 (echo only) generates nothing.
    """
    import contextlib

    import torch
    from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

    with torch.inference_mode():
        for job in jobs:
            if job.echo_logprobs and not job.prompt_logprobs:
                job.prompt_logprobs = _prompt_logprobs(engine, job)
    jobs = [j for j in jobs if j.max_tokens > 0]
    if not jobs:
        return
    seen: dict[str, Any] = {}

    class Record(LogitsProcessor):
        def __call__(self, input_ids, scores):
            seen["logprobs"] = torch.log_softmax(scores.float(), dim=-1)
            return scores

    class Step(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = engine.step(jobs, input_ids[:, -1].tolist(), seen.get("logprobs"))
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    tok = engine.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else engine.eos_ids[0]
    width = max(len(j.prompt_ids) for j in jobs)
    ids = [[pad] * (width - len(j.prompt_ids)) + j.prompt_ids for j in jobs]
    mask = [[0] * (width - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in jobs]
    device = engine.base.device
    sampling: dict[str, Any] = {"do_sample": False}
    seeded = contextlib.nullcontext()
    if jobs[0].temperature > 0:
        sampling = {"do_sample": True, "temperature": jobs[0].temperature, "top_p": jobs[0].top_p, "top_k": 0}
        if jobs[0].seed is not None:  # such a job runs alone (Job.batch_key)
            seeded = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
    if any(j.logprobs is not None for j in jobs):
        sampling["logits_processor"] = LogitsProcessorList([Record()])
    with torch.inference_mode(), seeded:
        if jobs[0].temperature > 0 and jobs[0].seed is not None:
            torch.manual_seed(jobs[0].seed)
        engine.model.generate(
            input_ids=torch.tensor(ids, device=device),
            attention_mask=torch.tensor(mask, device=device),
            adapter_names=[j.slot.adapter for j in jobs],
            max_new_tokens=max(j.max_tokens for j in jobs),
            pad_token_id=pad,
            # The tokenizer's EOS only, as eval generates (evaluation/generate.py) and as the
            # engine's step counts; a generation_config with more ids would end rows early.
            eos_token_id=engine.eos_ids or None,
            stopping_criteria=StoppingCriteriaList([Step()]),
            **sampling,
        )


def token_logprob(row: Any, token: int, top: int) -> tuple[float, dict[int, float]]:
    """(the token's logprob, the `top` likeliest tokens → logprob) from one row of log-softmax."""
    import torch

    chosen = float(row[token])
    if top <= 0:
        return chosen, {}
    values, indices = torch.topk(row, top)
    return chosen, {int(i): float(v) for i, v in zip(indices.tolist(), values.tolist(), strict=True)}


def _prompt_logprobs(engine: Host, job: Row) -> list[tuple[float, dict[int, float]] | None]:
    """Each prompt token's logprob given the tokens before it (None for the first)."""
    import torch

    ids = torch.tensor([job.prompt_ids], device=engine.base.device)
    logits = engine.model(input_ids=ids, adapter_names=[job.slot.adapter]).logits[0]
    rows = torch.log_softmax(logits.float(), dim=-1)
    top = job.logprobs or 0
    return [None] + [token_logprob(rows[i - 1], job.prompt_ids[i], top) for i in range(1, len(job.prompt_ids))]


def discard_adapter(engine: Host, adapter: str) -> None:
    """Remove whatever a failed load left of `adapter` and give its memory back: the PEFT
    adapter beside the others, or (a failed first load) the LoRA layers PEFT had already
    put into the base before it raised."""
    import gc

    from peft.tuners.tuners_utils import BaseTunerLayer

    if engine.model is not None:
        if adapter in engine.model.peft_config:
            engine.model.delete_adapter(adapter)
    else:
        for name, module in list(engine.base.named_modules()):
            if isinstance(module, BaseTunerLayer) and name:
                parent_name, _, child = name.rpartition(".")
                setattr(engine.base.get_submodule(parent_name), child, module.get_base_layer())
        if hasattr(engine.base, "peft_config"):
            del engine.base.peft_config
    gc.collect()
    _give_memory_back()


def _give_memory_back() -> None:
    """Freed tensors go back to the allocator, not always to the OS: ask glibc to return them
    (a failed load of a wrongly sized adapter may have claimed gigabytes), and empty CUDA's cache."""
    import ctypes
    import ctypes.util

    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to ask
            pass


def load_adapter(engine: Host, path: str, adapter: str) -> None:
    """The first adapter wraps the base in a PeftModel; later ones load beside it."""
    from adapterctl.runtime.quiet import quiet

    with quiet():
        if engine.model is None:
            from peft import PeftModel

            engine.model = PeftModel.from_pretrained(engine.base, path, adapter_name=adapter, is_trainable=False)
            engine.model.eval()
        elif adapter not in engine.model.peft_config:  # two adds of one version race: load it once
            engine.model.load_adapter(path, adapter_name=adapter, is_trainable=False)
