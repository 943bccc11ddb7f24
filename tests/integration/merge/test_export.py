"""`adapterctl export`: peft (re-hashed copy), merged (= merge), vllm (limits checked, serve line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapterctl import api, versions
from adapterctl.core.project import Project
from adapterctl.merge import export as exporting
from adapterctl.store import weights

pytestmark = pytest.mark.slow


def test_peft_export_is_the_version_itself(project: Path, import_variant) -> None:
    ref = import_variant()
    result = api.export(Project(project), ref, "peft", project / "out")
    assert weights.content_id(result.out) == versions.resolve(Project(project), ref).id
    assert result.files == ["adapter_config.json", "adapter_model.safetensors"]


def test_vllm_export_prints_the_serve_line(project: Path, import_variant, cli) -> None:
    ref = import_variant(r=16)
    result = cli("export", ref, "--format", "vllm", "--out", "out/support", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert all(c["ok"] for c in data["checks"])
    base = str((project / "models/tiny-base").resolve())
    assert data["command"] == (
        f"vllm serve {base} --enable-lora --lora-modules support={project / 'out/support'} --max-lora-rank 16"
        f" --chat-template {project / 'out/support/chat_template.jinja'}"
    )
    assert (project / "out/support/adapter_model.safetensors").is_file()


def test_the_vllm_chat_template_renders_the_prompt_eval_and_training_use(project: Path, import_variant, cli) -> None:
    """Rendered by transformers (as vLLM renders it), the exported chat template gives exactly
    the eval prompt of each row, BOS first: vLLM's chat endpoint adds no special tokens."""
    from transformers import AutoTokenizer

    from adapterctl.data import examples

    ref = import_variant(r=16)
    assert cli("export", ref, "--format", "vllm", "--out", "out/support", cwd=project).exit_code == 0
    jinja = (project / "out/support/chat_template.jinja").read_text()
    tok = AutoTokenizer.from_pretrained(project / "models/tiny-base")
    _, rows = examples.render_file(project, "evals/support.jsonl", "templates/support.txt")
    for row in rows[:20]:
        messages = [
            {"role": "system", "content": row["row"]["instruction"]},
            {"role": "user", "content": row["row"]["input"]},
        ]
        text = tok.apply_chat_template(messages, chat_template=jinja, tokenize=False, add_generation_prompt=True)
        assert text == tok.bos_token + row["prompt"]  # byte for byte
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert ids == tok(row["prompt"], add_special_tokens=True)["input_ids"]


def test_vllm_export_names_every_limit_that_fails_and_writes_nothing(project: Path, import_variant, cli) -> None:
    ref = import_variant(use_dora=True, modules_to_save=["lm_head"])
    result = cli("export", ref, "--format", "vllm", "--out", "out/support", cwd=project)
    assert result.exit_code == 1
    assert "modules_to_save: lm_head" in result.stderr and "DoRA" in result.stderr
    assert not (project / "out").exists()


def test_vllm_limits() -> None:
    ok = {"r": 4, "target_modules": ["q_proj", "v_proj"], "bias": "none"}
    checks = {c.name: c for c in exporting.vllm_checks(ok, {})}
    assert all(c.ok for c in checks.values()) and checks["rank"].detail.endswith("--max-lora-rank 8")
    bad = {
        "r": 8,
        "rank_pattern": {"q_proj": 1024},
        "target_modules": ["q_proj", "lm_head", "embed_tokens"],
        "bias": "lora_only",
    }
    failed = {c.name for c in exporting.vllm_checks(bad, {}) if not c.ok}
    assert failed == {"rank", "lm_head / embedding targets", "LoRA bias"}


def test_merged_export_is_a_merge(project: Path, import_variant) -> None:
    ref = import_variant()
    result = api.export(Project(project), ref, "merged", project / "out", verify=False)
    assert result.merge.out == result.out and (result.out / "README.md").is_file()
