"""The structural check at the door (versions/structure.py) on hand-written safetensors files:
config against tensors, tensors against the base's shapes, every value finite."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from safetensors.numpy import save_file

from adapterctl.core.errors import IntegrityError
from adapterctl.store import weights
from adapterctl.store.weights import TensorInfo
from adapterctl.versions import base_identity, structure

Q = "base_model.model.model.layers.0.self_attn.q_proj"
V = "base_model.model.model.layers.0.self_attn.v_proj"
BASE = {
    "model.layers.0.self_attn.q_proj.weight": TensorInfo("F32", (64, 64), 0, 0),
    "model.layers.0.self_attn.v_proj.weight": TensorInfo("F32", (32, 64), 0, 0),
}


def _adapter(folder: Path, *, config: dict | None = None, r: int = 4, dtype=np.float32, fill=None) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    tensors = {
        f"{Q}.lora_A.weight": rng.standard_normal((r, 64)),
        f"{Q}.lora_B.weight": rng.standard_normal((64, r)),
        f"{V}.lora_A.weight": rng.standard_normal((r, 64)),
        f"{V}.lora_B.weight": rng.standard_normal((32, r)),
    }
    for name, values in (fill or {}).items():
        tensors[name][...] = values
    save_file({k: v.astype(dtype) for k, v in tensors.items()}, str(folder / weights.WEIGHTS))
    base_config = {"peft_type": "LORA", "r": r, "lora_alpha": 2 * r, "target_modules": ["q_proj", "v_proj"]}
    (folder / weights.CONFIG).write_text(json.dumps({**base_config, **(config or {})}))
    return folder


def test_a_sound_adapter_passes_in_every_float_format(tmp_path: Path) -> None:
    for i, dtype in enumerate((np.float32, np.float16, np.float64)):
        assert structure.folder_problem(_adapter(tmp_path / f"a{i}", dtype=dtype), BASE) is None


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"r": 20000}, "r = 20000 for model.layers.0.self_attn.q_proj, but tensor"),
        ({"r": 0}, "r = 0: must be a positive whole number"),
        ({"r": 4.5}, "r = 4.5: must be a positive whole number"),
        ({"lora_alpha": math.nan}, "lora_alpha = nan: must be a finite number above 0"),
        ({"lora_alpha": -8}, "lora_alpha = -8"),
        ({"lora_alpha": math.inf}, "lora_alpha = inf"),
        ({"rank_pattern": {"q_proj": 8}}, "r = 8 for model.layers.0.self_attn.q_proj, but tensor"),
        ({"target_modules": ["q_proj"]}, "does not include model.layers.0.self_attn.v_proj"),
        ({"target_modules": ["q_proj", "v_proj", "w_gate"]}, "target module 'w_gate' does not exist in the base"),
    ],
)
def test_a_config_that_disagrees_with_its_tensors_is_named(tmp_path: Path, config: dict, expected: str) -> None:
    problem = structure.folder_problem(_adapter(tmp_path / "a", config=config), BASE)
    assert problem is not None and expected in problem and problem.startswith(weights.CONFIG)


def test_rank_pattern_that_matches_the_tensors_passes(tmp_path: Path) -> None:
    folder = _adapter(tmp_path / "a", config={"r": 8, "rank_pattern": {"q_proj": 4, "v_proj": 4}})
    assert structure.folder_problem(folder, BASE) is None


def test_tensors_that_do_not_fit_the_base_are_named(tmp_path: Path) -> None:
    narrow = {**BASE, "model.layers.0.self_attn.q_proj.weight": TensorInfo("F32", (64, 48), 0, 0)}
    problem = structure.folder_problem(_adapter(tmp_path / "a"), narrow)
    assert problem is not None and "q_proj.lora_A.weight: shape [4, 64] does not fit base" in problem
    gone = {k: v for k, v in BASE.items() if "v_proj" not in k}
    problem = structure.folder_problem(_adapter(tmp_path / "b"), gone)
    assert problem is not None and "the base has no module model.layers.0.self_attn.v_proj" in problem


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_counted_by_tensor(tmp_path: Path, dtype, value: float) -> None:
    folder = _adapter(tmp_path / "a", dtype=dtype, fill={f"{V}.lora_B.weight": value})
    problem = structure.folder_problem(folder, BASE)
    assert problem == f"{weights.WEIGHTS}: tensor {V}.lora_B.weight has 128 NaN or infinite values of 128"
    with pytest.raises(IntegrityError, match="never registered or loaded"):
        structure.check_folder(folder, BASE, label="support@abc")


def test_bfloat16_nan_is_found_from_the_bits(tmp_path: Path) -> None:
    """numpy has no bfloat16: write the bytes (0x7FC0 is a bf16 NaN, 0x3F80 is 1.0) by hand."""
    folder = _adapter(tmp_path / "a")
    header = {
        f"{Q}.lora_A.weight": {"dtype": "BF16", "shape": [4, 64], "data_offsets": [0, 512]},
        f"{Q}.lora_B.weight": {"dtype": "BF16", "shape": [64, 4], "data_offsets": [512, 1024]},
    }
    data = np.full(512, 0x3F80, dtype="<u2")
    data[300] = 0x7FC0
    blob = json.dumps(header).encode()
    (folder / weights.WEIGHTS).write_bytes(len(blob).to_bytes(8, "little") + blob + data.tobytes())
    (folder / weights.CONFIG).write_text(json.dumps({"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}))
    problem = structure.folder_problem(folder, BASE)
    assert problem == f"{weights.WEIGHTS}: tensor {Q}.lora_B.weight has 1 NaN or infinite values of 256"


def test_finite_but_huge_values_pass_and_a_missing_half_of_a_pair_does_not(tmp_path: Path) -> None:
    assert structure.folder_problem(_adapter(tmp_path / "a", fill={f"{Q}.lora_A.weight": 3e38}), BASE) is None
    folder = _adapter(tmp_path / "b")
    from safetensors.numpy import load_file

    tensors = load_file(str(folder / weights.WEIGHTS))
    del tensors[f"{V}.lora_B.weight"]
    save_file(tensors, str(folder / weights.WEIGHTS))
    problem = structure.folder_problem(folder, BASE)
    assert problem is not None and "v_proj has no lora_B tensor" in problem


def test_base_mismatch_compares_hashes_first_then_names() -> None:
    a, b = "a" * 64, "b" * 64
    assert base_identity.mismatch({"model": "m", "hash": a}, {"model": "moved/m", "hash": a}) is None
    assert base_identity.mismatch({"model": "m", "hash": a}, {"model": "m", "hash": b}) == (
        f"base weights sha256 {a} vs {b}"
    )
    assert base_identity.mismatch({"model": "m", "hash": a}, {"model": "m", "hash": ""}) is None
    assert base_identity.mismatch({"model": "m", "revision": "r1"}, {"model": "m", "revision": "r2"}) == (
        "base revision 'r1' vs 'r2'"
    )


def test_eval_refuses_nan_metrics_instead_of_calling_them_noise() -> None:
    from adapterctl.evaluation.runner import refuse_nonfinite

    version = SimpleNamespace(ref="support@abc")
    refuse_nonfinite(version, {"eval_loss": 1.5, "perplexity": math.inf, "rouge_l": 0.2})
    with pytest.raises(IntegrityError, match=r"support@abc: eval gave eval_loss = nan"):
        refuse_nonfinite(version, {"eval_loss": math.nan, "rouge_l": 0.0})
