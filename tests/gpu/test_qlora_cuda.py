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

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_nf4_qlora_trains_on_cuda_and_loads_back(example_project: Path, cli) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from adapterctl import modeling, versions
    from adapterctl.project import Project

    result = cli("train", "support", "--json", "--set", "train.max_steps=30", cwd=example_project)
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout.strip().splitlines()[-1])
    [trained] = done["results"]
    project = Project(example_project)
    card = versions.resolve(project, "support").card.to_dict()
    t = card["training"]
    assert t["quantization"]["used"] == "nf4" and t["quantization"]["compute_dtype"] == "bfloat16"
    assert t["base"]["device"] == "cuda" and t["batching"]["verified"] is True
    assert trained["val_loss"]["final"] < trained["val_loss"]["first"]

    ours, tokenizer = modeling.load_version(project, "support")
    base = AutoModelForCausalLM.from_pretrained(example_project / "models/tiny-base", dtype=torch.bfloat16).cuda()
    plain = PeftModel.from_pretrained(base, versions.resolve(project, "support").path).eval()
    ids = tokenizer("### Instruction:\nHelp.\n\n### Customer message:\nMy order is late.\n\n### Answer:\n",
                    return_tensors="pt").input_ids.cuda()
    with torch.no_grad():
        assert torch.allclose(ours(input_ids=ids).logits.float(), plain(input_ids=ids).logits.float(), atol=5e-2)


def test_gpu_bench_script_runs() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench/gpu_train.py"), "--smoke", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert [m["pipeline"].split()[0] for m in out["measurements"]] == ["naive", "adapterctl", "adapterctl"]
    assert all(m["peak_memory_gb"] for m in out["measurements"])
