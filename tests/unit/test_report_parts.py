"""Weight statistics against materialised ΔW, row-level data changes, and rendering."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from adapterctl.report import blocks, data_diff


def _adapter(folder: Path, seed: int, *, r: int = 4, alpha: int = 8, rslora: bool = False) -> dict:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    tensors = {}
    for module, (m, n) in {"model.layers.0.self_attn.q_proj": (16, 12), "model.layers.0.mlp.up_proj": (20, 12)}.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = torch.randn(r, n)
        tensors[f"base_model.model.{module}.lora_B.weight"] = torch.randn(m, r)
    folder.mkdir()
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": r, "lora_alpha": alpha, "use_rslora": rslora}))
    return tensors


def test_weight_stats_equal_those_of_the_materialised_updates(tmp_path: Path) -> None:
    import torch

    from adapterctl.report import weights

    ta = _adapter(tmp_path / "a", 1)
    tb = _adapter(tmp_path / "b", 2, r=4, alpha=16, rslora=True)
    diffs = {d.module: d for d in weights.compare(tmp_path / "a", tmp_path / "b")}
    assert set(diffs) == {"model.layers.0.self_attn.q_proj", "model.layers.0.mlp.up_proj"}
    for module, d in diffs.items():
        key = f"base_model.model.{module}"
        dwa = (8 / 4) * ta[f"{key}.lora_B.weight"].double() @ ta[f"{key}.lora_A.weight"].double()
        dwb = (16 / math.sqrt(4)) * tb[f"{key}.lora_B.weight"].double() @ tb[f"{key}.lora_A.weight"].double()
        assert d.norm_a == pytest.approx(float(dwa.norm()), rel=1e-9)
        assert d.norm_b == pytest.approx(float(dwb.norm()), rel=1e-9)
        assert d.relative_change == pytest.approx(float((dwb - dwa).norm() / dwa.norm()), rel=1e-9)
        assert d.cosine == pytest.approx(float((dwa * dwb).sum() / (dwa.norm() * dwb.norm())), rel=1e-9)
        s = torch.linalg.svdvals(dwb)
        p = s / s.sum()
        p = p[p > 1e-12]
        assert d.effective_rank_b == pytest.approx(float(torch.exp(-(p * p.log()).sum())), rel=1e-6)
        assert 1 <= d.effective_rank_b <= 4
    same = weights.compare(tmp_path / "a", tmp_path / "a")[0]
    assert same.relative_change == pytest.approx(0, abs=1e-6) and same.cosine == pytest.approx(1)


def test_row_changes_by_content_hash() -> None:
    old = [
        {"input": "a", "output": "1"},
        {"input": "b", "output": "2"},
        {"input": "c", "output": "3"},
        {"input": "a", "output": "1"},
    ]
    new = [
        {"output": "1", "input": "a"},
        {"input": "b", "output": "2, edited"},
        {"input": "d", "output": "4"},
        {"input": "a", "output": "1"},
    ]
    rc = data_diff.row_changes(old, new, role="train", path="data/x.jsonl")
    assert (rc.added, rc.removed, rc.changed) == (1, 1, 1)
    assert rc.examples["changed"] == [[{"input": "b", "output": "2"}, {"input": "b", "output": "2, edited"}]]
    assert rc.examples["added"] == [{"input": "d", "output": "4"}] and rc.examples["removed"] == [
        {"input": "c", "output": "3"}
    ]


def test_markdown_and_html_render_the_same_blocks() -> None:
    doc = [
        blocks.h("Report"),
        blocks.table(["a", "b|c"], [[1, "x|y"]]),
        blocks.pre("```code```"),
        blocks.details("row 1", [blocks.p("**Prompt**")]),
        blocks.curve("val loss", {"v1": [(0, 2.0), (4, 1.0)], "v2": [(0, 2.0), (2, 1.5)]}),
    ]
    md = blocks.markdown(doc)
    assert "| a | b|c |" in md and "x\\|y" in md and "````text" in md and "<details><summary>row 1</summary>" in md
    assert "x-axis [0, 2, 4]" in md and "line [2.0000, 2.0000, 1.0000]" in md and "line [2.0000, 1.5000, 1.5000]" in md
    page = blocks.html_page("t", doc)
    assert page.startswith("<!doctype html>") and "<b>Prompt</b>" in page and 'src="data:image/png;base64,' in page
    assert "http" not in page.split("<body>")[1]  # self-contained: nothing fetched
