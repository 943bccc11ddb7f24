"""`adapterctl merge` on the real stack: PEFT adapters on the tiny base, DVC-tracked versions,
transformers loading the result. The reference is PEFT's own merge_and_unload."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from merge_helpers import BASE, REPO_ROOT, VARIANTS, logits_of, make_adapter

from adapterctl import api, versions
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project

pytestmark = pytest.mark.slow
PROMPT = [[1, 40, 41, 300, 301, 302, 7, 8, 9, 500]]


def _peft_merged_logits(project: Path, ref: str):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    version = versions.resolve(Project(project), ref)
    base = AutoModelForCausalLM.from_pretrained(project / BASE, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(version.path)).merge_and_unload()
    return logits_of(merged, torch.tensor(PROMPT)), logits_of(
        AutoModelForCausalLM.from_pretrained(project / BASE), torch.tensor(PROMPT)
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_merge_equals_peft_merge_and_unload(variant: str, project: Path, import_variant) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    ref = import_variant(**VARIANTS[variant])
    result = api.merge(Project(project), ref, project / "merged", dtype="float32", verify=False)
    ours = logits_of(AutoModelForCausalLM.from_pretrained(result.out), torch.tensor(PROMPT))
    theirs, base = _peft_merged_logits(project, ref)
    assert (ours - theirs).abs().max().item() <= 1e-5
    assert (theirs - base).abs().max().item() > 0.1  # the adapter really changes the model
    assert result.variant == {"rslora": "rsLoRA", "dora": "DoRA"}.get(variant, "LoRA")
    assert result.replaced == (1 if variant == "modules_to_save" else 0)


def test_merged_folder_loads_plainly_and_its_card_names_the_version(project: Path, import_variant, cli) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = import_variant(use_dora=True)
    result = cli("merge", ref, "--out", "merged/support", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    out = Path(data["out"])
    assert data["verification"]["passed"] and data["verification"]["top1_agreement"] == 1.0
    assert data["verification"]["max_abs_diff"] <= 1e-4
    card = (out / "README.md").read_text()
    assert data["id"] in card and "models/tiny-base" in card and "DoRA" in card
    assert "verification | passed" in card
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer("Hello, how do I reset my password?", return_tensors="pt")["input_ids"]
    assert model.generate(ids, max_new_tokens=4, do_sample=False).shape[1] == ids.shape[1] + 4
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"
    assert not list(out.parent.glob(".support.partial-*"))


def test_sharded_base_gives_sharded_output_with_an_index(project: Path, sharded_base: Path, import_variant) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    ref = import_variant()
    result = api.merge(Project(project), ref, project / "merged", dtype="bfloat16")
    index = json.loads((result.out / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert result.shards == len(shards) > 1 and all((result.out / s).is_file() for s in shards)
    assert result.verification["passed"]
    model = AutoModelForCausalLM.from_pretrained(result.out)
    assert next(model.parameters()).dtype == torch.bfloat16


def test_failed_verification_exits_1_and_leaves_no_output(project: Path, import_variant, cli, monkeypatch) -> None:
    """A merge bug (here: the deltas dropped) must be caught by verification, with nothing written."""
    from adapterctl.merge import streaming

    ref = import_variant()
    monkeypatch.setattr(streaming, "apply_delta", lambda w, delta, lora: w)
    result = cli("merge", ref, "--out", "merged/support", cwd=project)
    assert result.exit_code == 1
    assert "verification failed" in result.stderr and "nothing was written" in result.stderr
    assert not (project / "merged/support").exists()
    assert not list((project / "merged").glob(".support.partial-*"))


def test_unsupported_adapters_are_refused_by_name_before_writing(project: Path, import_variant) -> None:
    ref = import_variant(config_patch={"use_bdlora": {"nblocks": 2}})
    with pytest.raises(UsageError, match="use_bdlora"):
        api.merge(Project(project), ref, project / "merged", verify=False)
    assert not (project / "merged").exists()


def test_existing_output_folder_is_refused(project: Path, import_variant) -> None:
    ref = import_variant()
    (project / "merged").mkdir()
    (project / "merged/keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists"):
        api.merge(Project(project), ref, project / "merged", verify=False)
    assert (project / "merged/keep.txt").read_text() == "mine"


def _project_files(root: Path) -> set[str]:
    skip = {".git", ".dvc"}
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(root).parts) and p.name != "files.json"
    }


def test_killing_merge_midway_leaves_no_output_and_no_temporary_files(
    project: Path, sharded_base: Path, import_variant, run
) -> None:
    ref = import_variant()
    before = _project_files(project)
    env = {"ADAPTERCTL_TEST_HOOK": "merge-shard:sleep", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapterctl", "merge", ref, "--out", "merged/support", "--no-verify"],
        cwd=project,
        env={**__import__("os").environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the first shard is on disk, the rest are not
        if "paused at merge-shard" in line:
            break
    partial = list((project / "merged").glob(".support.partial-*"))
    assert len(partial) == 1 and any(partial[0].glob("*.safetensors"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while (project / "merged").exists() and any((project / "merged").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (project / "merged/support").exists()
    assert _project_files(project) == before
    assert run("merge", ref, "--out", "merged/support", "--no-verify", cwd=project).returncode == 0


def test_into_dequantized_merges_the_weights_a_qlora_adapter_saw(project: Path, tmp_path: Path) -> None:
    """Registered with the card a nf4-trained version gets: the dequantized merge matches the
    adapter on the nf4 base; the full-precision merge does not."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from adapterctl import manifest, modeling

    p = Project(project)
    folder = make_adapter(project / BASE, tmp_path / "qlora", seed=3)
    record = {"requested": "nf4", "used": "nf4", "double_quant": True, "compute_dtype": "float32"}
    spec = manifest.load(p.manifest_path).adapter("support")
    version = versions.register(
        p, "support", folder, spec=spec, training={"quantization": record, "base": {"dtype": "float32"}}
    )
    train = manifest.TrainSpec(quantization="nf4", double_quant=True, compute_dtype="float32")
    quantized = modeling.load_base(p, manifest.load(p.manifest_path).base, train, for_training=False).model
    seen = logits_of(PeftModel.from_pretrained(quantized, str(version.path)), torch.tensor(PROMPT))

    deq = api.merge(p, version.ref, project / "deq", into="dequantized")
    full = api.merge(p, version.ref, project / "full", verify=False)
    assert deq.verification["passed"] and deq.dequantized > 0 and "nf4" in (deq.out / "README.md").read_text()
    diff_deq = (logits_of(AutoModelForCausalLM.from_pretrained(deq.out), torch.tensor(PROMPT)) - seen).abs().max()
    diff_full = (logits_of(AutoModelForCausalLM.from_pretrained(full.out), torch.tensor(PROMPT)) - seen).abs().max()
    print(f"max |Δlogit| vs the adapter on nf4: dequantized {diff_deq.item():.2g}, full {diff_full.item():.2g}")
    assert diff_deq.item() <= 1e-3
    assert diff_full.item() > 0.1


def test_into_dequantized_is_refused_for_an_adapter_trained_unquantised(project: Path, import_variant) -> None:
    ref = import_variant()
    with pytest.raises(UsageError, match="--into dequantized"):
        api.merge(Project(project), ref, project / "merged", into="dequantized")


def test_a_quantised_base_checkpoint_is_refused_as_lossy(project: Path, import_variant) -> None:
    ref = import_variant()
    config_path = project / BASE / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(
        json.dumps({**config, "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True}})
    )
    with pytest.raises(UsageError, match="lossy"):
        api.merge(Project(project), ref, project / "merged")
    assert not (project / "merged").exists()


def test_verification_fails_when_logits_disagree() -> None:
    import torch

    from adapterctl.merge import verify

    ref = [torch.randn(5, 11)]
    assert verify.compare(ref, [ref[0].clone()], "float32", "x").passed
    bad = verify.compare(ref, [ref[0] + 0.5], "float32", "x")
    assert not bad.passed and bad.max_abs_diff == pytest.approx(0.5)


def test_merge_into_a_hub_base_from_the_hugging_face_cache(project: Path, tmp_path: Path, run) -> None:
    """base.model is a hub id pinned to a commit; the files are only in the local HF cache."""
    import shutil

    revision = "0123456789abcdef0123456789abcdef01234567"
    cache = tmp_path / "hf-cache"
    snapshot = cache / "models--acme--tiny-chat" / "snapshots" / revision
    shutil.copytree(project / BASE, snapshot)
    manifest_path = project / "adapterctl.toml"
    manifest_path.write_text(
        manifest_path.read_text().replace(
            'model = "models/tiny-base"', f'model = "acme/tiny-chat"\nrevision = "{revision}"'
        )
    )
    shutil.rmtree(project / BASE)  # nothing local: the cache is the only copy
    adapter = make_adapter(snapshot, tmp_path / "adapter", seed=2)
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    imported = run("import", "support", str(adapter), "--any-base", cwd=project, env=env)
    assert imported.returncode == 0, imported.stderr
    merged = run("merge", "support", "--out", str(tmp_path / "merged"), "--json", cwd=project, env=env)
    assert merged.returncode == 0, merged.stderr
    data = json.loads(merged.stdout)
    assert data["base"] == "acme/tiny-chat" and data["revision"] == revision
    assert Path(data["base_dir"]).resolve() == snapshot.resolve() and data["verification"]["passed"]
    card = (tmp_path / "merged/README.md").read_text()
    assert "acme/tiny-chat" in card and revision in card
