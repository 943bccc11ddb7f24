"""Base loading: a hub id at its pinned revision (from an offline cache), local folders, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapterctl import modeling
from adapterctl.core.errors import ManifestError, StorageError
from adapterctl.core.project import Project
from adapterctl.manifest import BaseSection, TrainSpec

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny model as hub repo acme/tiny-llama at commit SHA, in a Hugging Face cache (offline)."""
    import huggingface_hub.constants

    repo = tmp_path / "hub/models--acme--tiny-llama"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / SHA)
    (repo / "refs").mkdir()
    (repo / "refs/main").write_text(SHA)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return repo


def test_hub_base_loads_at_its_pinned_revision(tmp_path: Path, hub_cache: Path) -> None:
    project = Project(tmp_path)
    loaded = modeling.load_base(
        project, BaseSection(model="acme/tiny-llama", revision=SHA), TrainSpec(quantization="nf4")
    )
    info = loaded.info
    assert (info.source, info.revision, info.commit) == ("hub", SHA, SHA)
    assert info.quantization["used"] == "nf4" and loaded.model.is_loaded_in_4bit
    assert loaded.key.source == "acme/tiny-llama"


def test_a_revision_not_in_the_offline_cache_is_a_clear_error(tmp_path: Path, hub_cache: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot load base model acme/tiny-llama@f{40} \(the hub is unreachable"):
        modeling.load_base(
            Project(tmp_path), BaseSection(model="acme/tiny-llama", revision="f" * 40), TrainSpec(quantization="none")
        )


def test_local_folders_and_their_errors(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(tiny_model_dir, tmp_path / "models/base")
    loaded = modeling.load_base(
        Project(tmp_path), BaseSection(model="models/base"), TrainSpec(quantization="int8"), for_training=False
    )
    assert loaded.info.source == "local" and loaded.info.commit is None and loaded.model.is_loaded_in_8bit
    with pytest.raises(ManifestError, match=r"base.model './missing': no such folder"):
        modeling.base_source(Project(tmp_path), BaseSection(model="./missing"))
    (tmp_path / "models/gone.dvc").write_text("outs: []\n")
    monkeypatch.chdir(tmp_path)  # the hint names the .dvc file as typed from here
    with pytest.raises(
        StorageError,
        match=r"models/gone is not here \(it is DVC-tracked but not pulled here: run `adapterctl pull` or `dvc pull models/gone.dvc`\)",
    ):
        modeling.base_source(Project(tmp_path), BaseSection(model="models/gone"))
    assert modeling.base_source(Project(tmp_path), BaseSection(model="gpt2")) == ("gpt2", "hub")


def test_a_4bit_base_is_unchanged_by_an_eval_forward(tmp_path: Path, tiny_model_dir: Path) -> None:
    # bitsandbytes repacks 4-bit weights in place on the first no-grad eval forward on
    # AVX512-BF16 CPUs; a base shared by several adapters must stay what was loaded.
    import torch

    shutil.copytree(tiny_model_dir, tmp_path / "base")
    loaded = modeling.load_base(Project(tmp_path), BaseSection(model="base"), TrainSpec(quantization="nf4"))
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    loaded.model.eval()
    with torch.no_grad():
        loaded.model(torch.randint(0, 100, (2, 8)))
    after = loaded.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
