"""The SFT recipe on the real stack (tiny model, bitsandbytes nf4 on CPU, PEFT, TRL)."""

from __future__ import annotations

import json

import pytest
from helpers import run_dir

from adapterctl.core.errors import ManifestError


@pytest.mark.slow
def test_short_run_saves_a_standard_peft_folder(project, train_unregistered) -> None:
    [outcome] = train_unregistered("support")
    folder = run_dir(project, outcome.run_id)
    adapter = folder / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "models/tiny-base", "the manifest's base id, not a local path"
    assert config["r"] == 16 and config["target_modules"] and not config["modules_to_save"]
    assert (folder / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    s = outcome.summary
    assert s["steps"] == 4 and s["quantization"] == {
        "requested": "nf4",
        "used": "nf4",
        "double_quant": True,
        "compute_dtype": "float32",
    }
    assert s["batching"]["used"] == "padding_free" and s["batching"]["verified"] is True
    assert s["batching"]["layout"] == "rows end to end in bins of up to 256 tokens per batch row", (
        "sdpa gets bounded bins"
    )
    assert s["data"]["train_rows"] == 180 and s["data"]["val_rows"] == 20
    assert s["val_loss"]["first"] > s["val_loss"]["final"] > 0
    assert [p["step"] for p in s["history"] if "val_loss" in p] == [0, 2, 4]
    assert s["loss_curve"] == "loss_curve.png" and s["tokens"] > 0 and s["notices"] == []
    assert json.loads((folder / "run.json").read_text())["status"] == "trained"


@pytest.mark.slow
def test_save_dtype_halves_the_adapter(project, train_unregistered) -> None:
    from safetensors import safe_open

    [half] = train_unregistered("support", overrides=['train.save_dtype="bfloat16"'])
    path = run_dir(project, half.run_id) / "adapter/adapter_model.safetensors"
    with safe_open(str(path), "pt") as f:
        tensors = [f.get_tensor(k) for k in f.keys()]
    assert {str(t.dtype) for t in tensors} == {"torch.bfloat16"}
    float32_bytes = 4 * sum(t.numel() for t in tensors)
    assert path.stat().st_size < 0.55 * float32_bytes


def test_unknown_target_module_lists_the_linear_modules(train_unregistered) -> None:
    with pytest.raises(ManifestError) as err:
        train_unregistered("support", overrides=['lora.target_modules=["q_proj","qkv_proj"]'])
    assert "'qkv_proj' matches no module of the base model" in str(err.value)
    assert "down_proj, gate_proj, k_proj, lm_head, o_proj, q_proj, up_proj, v_proj" in str(err.value)


def test_lora_on_the_output_head_points_to_modules_to_save(train_unregistered) -> None:
    with pytest.raises(ManifestError, match=r"modules_to_save = \[\"lm_head\"\]"):
        train_unregistered("support", overrides=['lora.target_modules=["q_proj","lm_head"]'])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            [
                'train.quantization="int8"',
                'lora.init_lora_weights="gaussian"',
                "train.gradient_checkpointing=true",
                "train.grad_accum=2",
                'train.lr_scheduler="linear"',
            ],
            {"used": "int8", "effective_batch": 16},
        ),
        (['train.quantization="fp4"', "lora.use_dora=true"], {"used": "fp4"}),
        (['train.quantization="none"', 'lora.init_lora_weights="pissa"', 'train.batching="packed"'], {"used": "none"}),
        (['lora.init_lora_weights="olora"', "lora.use_rslora=true", 'train.batching="padded"'], {"used": "nf4"}),
    ],
)
def test_quantisation_and_lora_variants_train(project, train_unregistered, overrides, expected) -> None:
    [outcome] = train_unregistered("support", overrides=["train.max_steps=2", *overrides])
    assert outcome.summary["quantization"]["used"] == expected["used"]
    assert outcome.summary["steps"] == 2
    assert outcome.summary["effective_batch"] == expected.get("effective_batch", 8)


def test_pissa_on_a_quantised_base_is_refused(train_unregistered) -> None:
    with pytest.raises(ManifestError, match=r"lora.init_lora_weights: pissa needs a full-precision base"):
        train_unregistered("support", overrides=['lora.init_lora_weights="pissa"'])


@pytest.mark.slow
def test_without_bitsandbytes_the_base_falls_back_with_one_notice(
    project, train_unregistered, monkeypatch, capsys
) -> None:
    from adapterctl import modeling

    monkeypatch.setenv(modeling.DISABLE_BNB_ENV, "1")
    modeling.bitsandbytes_problem.cache_clear()
    try:
        [outcome] = train_unregistered("support", overrides=["train.max_steps=1"])
    finally:
        modeling.bitsandbytes_problem.cache_clear()
    q = outcome.summary["quantization"]
    assert q["requested"] == "nf4" and q["used"] == "none"
    assert "trained on a full-precision base instead of nf4" in q["notice"]
    assert outcome.summary["notices"] == [q["notice"]]
    assert capsys.readouterr().err.count("full-precision base") >= 1


@pytest.mark.slow
def test_early_stopping_stops_when_val_loss_stops_improving(train_unregistered) -> None:
    # At this learning rate the weights move far below float32 resolution of the loss: val loss
    # stays flat, so the run stops `patience` evals after the first.
    [outcome] = train_unregistered(
        "support",
        overrides=[
            "train.max_steps=30",
            "train.eval_steps=1",
            "train.early_stopping_patience=2",
            "train.learning_rate=1e-12",
        ],
    )
    s = outcome.summary
    assert s["early_stopped"] is True and s["steps"] == 3, s["history"]
    assert s["val_loss"]["final"] == s["val_loss"]["best"], "the best checkpoint is the one saved"


def test_early_stopping_needs_val_loss(train_unregistered) -> None:
    with pytest.raises(ManifestError, match="early_stopping_patience needs val loss"):
        train_unregistered("support", overrides=["train.early_stopping_patience=2", "train.val_split=0.0"])
    with pytest.raises(ManifestError, match="checkpoint_steps = 3 must be a multiple of train.eval_steps = 2"):
        train_unregistered("support", overrides=["train.early_stopping_patience=2", "train.checkpoint_steps=3"])


def test_rows_that_would_leak_fall_back_to_padded_batches(tiny_model_dir) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from adapterctl.train import batching

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)

    class IgnoresPositionIds(torch.nn.Module):
        """An attention stack that cannot see row boundaries: packed rows attend to each other."""

        def __init__(self) -> None:
            super().__init__()
            self.inner, self.config = model, model.config

        def get_input_embeddings(self):
            return model.get_input_embeddings()

        def forward(self, input_ids, position_ids=None, use_cache=None):
            return self.inner(input_ids=input_ids, use_cache=False)

    record = batching.resolve("padding_free", IgnoresPositionIds())
    assert record["used"] == "padded" and record["verified"] is False
    assert "would let rows attend to each other" in record["notice"]
    assert batching.resolve("padding_free", model)["used"] == "padding_free"
    assert batching.resolve("packed", model)["used"] == "packed"
    assert batching.resolve("padding_free", model.to(torch.bfloat16))["used"] == "padding_free", (
        "16-bit rounding is not mistaken for leaking rows"
    )


@pytest.mark.slow
def test_pissa_adapter_is_saved_as_plain_lora_for_the_original_base(project) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from adapterctl import manifest
    from adapterctl.train import runs
    from adapterctl.train.job import TrainJob
    from adapterctl.train.options import RunOptions
    from adapterctl.train.recipe import SFTRecipe

    m = manifest.load(project.manifest_path)
    spec = m.adapter(
        "support",
        manifest.parse_overrides(
            [
                "train.max_steps=2",
                "train.batch_size=8",
                'train.quantization="none"',
                'lora.init_lora_weights="pissa"',
                "train.learning_rate=0.01",
                'lora.modules_to_save=["lm_head"]',
            ]
        ),
    )
    job = TrainJob.from_spec(spec, "h", m.base)
    recipe = SFTRecipe(project, runs.create(project, "support", job.to_dict()), job, RunOptions(progress="none"))
    recipe.setup()
    recipe.train()
    recipe.save()
    ids = torch.tensor([[1, 40, 41, 42, 43, 44]])
    recipe.model.eval()
    with torch.no_grad():
        trained = recipe.model(input_ids=ids).logits
    recipe.cleanup()

    base = AutoModelForCausalLM.from_pretrained(project.root / "models/tiny-base")
    with torch.no_grad():
        untouched = base(input_ids=ids).logits
        loaded = PeftModel.from_pretrained(base, recipe.run.adapter_dir).eval()(input_ids=ids).logits
    assert (trained - untouched).abs().max() > 1e-3, "training changed the outputs"
    assert torch.allclose(loaded, trained, atol=1e-4)


@pytest.mark.parametrize("shape", ["chat", "prompt_completion"])
@pytest.mark.slow
def test_chat_and_prompt_completion_rows_train(project, train_unregistered, shape: str) -> None:
    rows = [json.loads(line) for line in (project.root / "data/support.jsonl").read_text().splitlines()[:40]]
    if shape == "chat":
        out = [
            {"messages": [{"role": "user", "content": r["input"]}, {"role": "assistant", "content": r["output"]}]}
            for r in rows
        ]
    else:
        out = [{"prompt": f"Q: {r['input']}\nA: ", "completion": r["output"]} for r in rows]
    (project.root / "data/extra.jsonl").write_text("".join(json.dumps(r) + "\n" for r in out))
    manifest = project.manifest_path
    manifest.write_text(manifest.read_text() + '\n[adapters.extra]\ndata = "data/extra.jsonl"\n')
    [outcome] = train_unregistered("extra", overrides=["train.max_steps=2"])
    assert outcome.summary["data"]["format"] == shape and outcome.summary["steps"] == 2
    assert outcome.summary["val_loss"]["final"] > 0
    # what the card records as [prompt]: the chat template training rendered with, or plain prompts
    if shape == "chat":
        from transformers import AutoTokenizer

        template = AutoTokenizer.from_pretrained(project.root / "models/tiny-base").chat_template
        assert outcome.summary["data"]["prompt"] == {"kind": "chat", "chat_template": template}
    else:
        assert outcome.summary["data"]["prompt"] == {"kind": "plain"}
