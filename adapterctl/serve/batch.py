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


class Host(Protocol):
    """What a batch needs of the engine that runs it."""

    tokenizer: Any
    eos_ids: list[int]
    base: Any
    model: Any

    def step(self, jobs: Any, tokens: list[int]) -> list[bool]: ...  # hands each row its new token


def generate_batch(engine: Host, jobs: Sequence[Row]) -> None:
    """One `generate` call: left-padded prompts, each row on its own adapter (PEFT's
    mixed-batch `adapter_names`); a stopping criterion hands every new token to the engine."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Step(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = engine.step(jobs, input_ids[:, -1].tolist())
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    tok = engine.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else engine.eos_ids[0]
    width = max(len(j.prompt_ids) for j in jobs)
    ids = [[pad] * (width - len(j.prompt_ids)) + j.prompt_ids for j in jobs]
    mask = [[0] * (width - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in jobs]
    device = engine.base.device
    sampling: dict[str, Any] = {"do_sample": False}
    if jobs[0].temperature > 0:
        sampling = {"do_sample": True, "temperature": jobs[0].temperature, "top_p": jobs[0].top_p, "top_k": 0}
    with torch.inference_mode():
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
