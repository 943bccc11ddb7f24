"""The CUDA path: nf4 QLoRA with bf16 compute, registered, loaded back on the GPU.

Run on a CUDA machine with `pytest -m gpu tests/gpu`; skipped elsewhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import loaded_version

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_nf4_qlora_trains_on_cuda_and_loads_back(example_project: Path, cli) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from adapterctl import versions
    from adapterctl.core.project import Project

    # batch_size at its default: on a GPU the batches are then token budgets chosen from free memory.
    result = cli(
        "train", "support", "--json", "--set", "train.max_steps=30", "--set", "train.batch_size=8", cwd=example_project
    )
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout.strip().splitlines()[-1])
    [trained] = done["results"]
    project = Project(example_project)
    card = versions.resolve(project, "support").card.to_dict()
    t = card["training"]
    assert t["quantization"]["used"] == "nf4" and t["quantization"]["compute_dtype"] == "bfloat16"
    assert t["base"]["device"] == "cuda" and t["batching"]["verified"] is True
    # Issue 13: a varlen kernel keeps rows apart, batches are token budgets chosen from free memory,
    # no float32 residual stream, peak memory in the card.
    assert t["attention"]["implementation"] in ("adapterctl_varlen", "flash_attention_2", "adapterctl_flex")
    assert t["batching"]["layout"].startswith("one sequence per batch")
    assert t["token_batches"]["max_tokens_per_batch"] == t["memory"]["max_tokens_per_batch"] > 0
    assert any("max_tokens_per_batch" in n and "free" in n for n in t["notices"])
    assert t["precision"].startswith("bfloat16 residual stream")
    assert t["memory"]["peak"]["device"] == "cuda" and t["memory"]["peak"]["peak_allocated_gb"] > 0
    assert trained["val_loss"]["final"] < trained["val_loss"]["first"]

    base = AutoModelForCausalLM.from_pretrained(example_project / "models/tiny-base", dtype=torch.bfloat16).cuda()
    plain = PeftModel.from_pretrained(base, versions.resolve(project, "support").path).eval()
    with loaded_version(project, "support") as (ours, tokenizer):
        ids = tokenizer(
            "### Instruction:\nHelp.\n\n### Customer message:\nMy order is late.\n\n### Answer:\n",
            return_tensors="pt",
        ).input_ids.cuda()
        with torch.no_grad():
            assert torch.allclose(ours(input_ids=ids).logits.float(), plain(input_ids=ids).logits.float(), atol=5e-2)


def test_gpu_bench_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench/gpu_train.py"), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    arms = [(m["case"], m["pipeline"].split()[0]) for m in out["measurements"]]
    assert arms == [
        ("short rows", "naive"),
        ("short rows", "adapterctl"),
        ("short rows", "plain"),
        ("long rows", "adapterctl"),
        ("long rows", "plain"),
    ]
    assert all(m["peak_memory_gb"] and m["mfu"] for m in out["measurements"])
    assert out["matmul_tflops"] > 0 and set(out["acceptance"]) == {"short rows", "long rows"}
