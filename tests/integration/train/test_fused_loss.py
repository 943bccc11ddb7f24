"""The loss never materialises full-vocabulary logits: the recipe's trainer (TRL 1.16) scores
labelled positions through a fused, chunked LM head, so the LM head module itself never runs
during a training step."""

from __future__ import annotations

import pytest
from helpers import FAST

from adapterctl.train import runner, runs
from adapterctl.train.options import RunOptions
from adapterctl.train.recipe import SFTRecipe


@pytest.mark.slow
def test_training_steps_never_run_the_full_lm_head(project) -> None:
    [job] = runner.prepare(
        project,
        ["support"],
        [*FAST, "train.max_steps=2", "train.val_split=0.0"],
        options=RunOptions(progress="none"),
    )
    recipe = SFTRecipe(project, runs.create(project, "support", job.to_dict()), job, RunOptions(progress="none"))
    recipe.setup()
    calls = []
    head = recipe.model.get_output_embeddings()
    handle = head.register_forward_hook(lambda module, args, out: calls.append(tuple(out.shape)))
    try:
        recipe.train()
        assert recipe.trainer.state.global_step == 2
        assert calls == [], f"full logits were computed: {calls}"
        assert recipe.attention["loss"].startswith("TRL fused LM head")
        # The hook itself works: a plain forward does run the head.
        import torch

        with torch.no_grad():
            recipe.model(input_ids=torch.tensor([[5, 6, 7]]))
        assert calls and calls[0][-1] == head.out_features
    finally:
        handle.remove()
        recipe.cleanup()
