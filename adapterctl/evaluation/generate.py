"""Model passes for eval: batched greedy generation and teacher-forced completion loss.

Generation pads on the left (the new tokens of every row then start at the same column),
keeps the KV cache on, and sorts rows by prompt length so a batch wastes few pad tokens;
outputs come back in the original row order. The loss is the summed negative
log-likelihood of each row's completion tokens (the prompt is context only, as in
completion-only training), so any subset of rows gives its token-weighted mean loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Advance = Callable[[int], None]


def prompt_text(tokenizer, prompt: Any, fmt: Any = None) -> str:
    """A rendered prompt string; chat rows go through the version's chat format
    (data.prompts.PromptFormat.render, which the server also calls), else the tokenizer's."""
    if isinstance(prompt, str):
        return prompt
    if fmt is not None:
        return fmt.render(prompt, tokenizer)
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


def completion_text(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[-1]["content"]


def context_length(model) -> int | None:
    """The most tokens the model reads at once (prompt and generated text together), when its config says."""
    value = getattr(model.config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def generate(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int,
    max_length: int,
    advance: Advance | None = None,
) -> list[str]:
    """Greedy completions of `prompts`, in order."""
    import torch

    device = next(model.parameters()).device
    context = context_length(model)
    if context is not None:  # prompt + answer must fit the context: keep the prompt's end
        max_new_tokens = min(max_new_tokens, context - 1)
        max_length = max(1, min(max_length, context - max_new_tokens))
    encoded = [tokenizer(p, add_special_tokens=True)["input_ids"][-max_length:] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: list[str] = [""] * len(prompts)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):  # left padding
                seq = encoded[i]
                ids[row, width - len(seq) :] = torch.tensor(seq)
                mask[row, width - len(seq) :] = 1
            generated = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                use_cache=True,
                pad_token_id=pad,
                eos_token_id=tokenizer.eos_token_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
            for row, i in enumerate(chunk):
                # The text as generated, not stripped: what a server returns for the same prompt.
                outputs[i] = tokenizer.decode(generated[row, width:], skip_special_tokens=True)
            if advance:
                advance(len(chunk))
    return outputs


def completion_losses(
    model,
    tokenizer,
    prompts: Sequence[str],
    completions: Sequence[str],
    *,
    batch_size: int,
    max_length: int,
    advance: Advance | None = None,
) -> list[list[float]]:
    """[summed NLL, completion tokens] per row, teacher-forced; the completion ends with EOS."""
    import torch

    device = next(model.parameters()).device
    rows = [_tokenise(tokenizer, p, c, max_length) for p, c in zip(prompts, completions, strict=True)]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[list[float]] = []
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            labels = torch.full_like(ids, -100)
            for r, (seq, first) in enumerate(chunk):  # right padding: positions stay 0..n-1
                ids[r, : len(seq)] = torch.tensor(seq)
                mask[r, : len(seq)] = 1
                labels[r, first : len(seq)] = ids[r, first : len(seq)]
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            shifted = labels[:, 1:].to(device)
            nll = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.size(-1)), shifted.reshape(-1), ignore_index=-100, reduction="none"
            ).view(shifted.shape)
            counted = shifted != -100
            for r in range(len(chunk)):
                out.append([round(float(nll[r].sum()), 6), int(counted[r].sum())])
            if advance:
                advance(len(chunk))
    return out


def _tokenise(tokenizer, prompt: str, completion: str, max_length: int) -> tuple[list[int], int]:
    """(token ids, index of the first completion token), truncated to max_length."""
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    full = tokenizer(prompt + completion, add_special_tokens=True)["input_ids"]
    if tokenizer.eos_token_id is not None and (not full or full[-1] != tokenizer.eos_token_id):
        full = full + [tokenizer.eos_token_id]
    first = min(len(prompt_ids), len(full) - 1)
    full = full[:max_length]
    return full, max(1, min(first, len(full) - 1))
