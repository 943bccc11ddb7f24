"""Issue 16, items 2 and 3: a version is structurally checked at every door (import, pull, and
every command that loads or serves it), and is only ever put on the base its card records.
Real PEFT adapters on the tiny base, real git and DVC, the real CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.core.tomlread import tomllib
from adapterctl.store import weights
from adapterctl.tiny import build_tiny_model

BASE = "models/tiny-base"


def _copy(src: Path, dst: Path, *, config: dict | None = None, value: float | None = None) -> Path:
    """A copy of a PEFT folder with its config patched and/or every tensor set to `value`."""
    shutil.copytree(src, dst)
    if config:
        path = dst / weights.CONFIG
        path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    if value is not None:
        from safetensors.numpy import load_file, save_file

        tensors = load_file(str(dst / weights.WEIGHTS))
        for t in tensors.values():
            t[...] = value
        save_file(tensors, str(dst / weights.WEIGHTS), metadata={"format": "pt"})
    return dst


@pytest.fixture
def planted(project: Path, monkeypatch: pytest.MonkeyPatch):
    """Register a broken folder as a version the way an adapterctl without the structural check
    did (the check is switched off for that one registration): what older projects and other
    people's pushes can hold."""
    from adapterctl.versions import structure

    def _plant(folder: Path) -> versions.Version:
        with monkeypatch.context() as m:
            m.setattr(structure, "check_folder", lambda *a, **k: None)
            return versions.import_folder(Project(project), "support", folder, message="planted")

    return _plant


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_import_refuses_a_config_whose_r_disagrees_with_its_tensors(
    project: Path, adapters: list[Path], tmp_path: Path, cli
) -> None:
    lying = _copy(adapters[0], tmp_path / "lying", config={"r": 20000})
    result = cli("import", "support", str(lying), cwd=project)
    assert result.exit_code == 3
    line = _one_line(result.stderr)
    assert str(lying) in line and "adapter_config.json: r = 20000" in line and "has rank 4" in line
    assert not versions.log(Project(project), "support")
    assert not list((project / ".adapterctl" / "staging").glob("*"))  # nothing half-registered


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"lora_alpha": math.nan}, "lora_alpha = nan"),
        ({"lora_alpha": 0}, "lora_alpha = 0"),
        ({"target_modules": ["q_proj", "w_fused"]}, "target module 'w_fused' does not exist in the base"),
    ],
)
def test_import_refuses_bad_alpha_and_targets_missing_from_the_base(
    project: Path, adapters: list[Path], tmp_path: Path, cli, patch: dict, expected: str
) -> None:
    result = cli("import", "support", str(_copy(adapters[0], tmp_path / "bad", config=patch)), cwd=project)
    assert result.exit_code == 3 and expected in _one_line(result.stderr)


def test_import_refuses_nan_and_infinite_weights(project: Path, adapters: list[Path], tmp_path: Path, cli) -> None:
    for value in (math.nan, math.inf):
        folder = _copy(adapters[0], tmp_path / f"v{value}", value=value)
        result = cli("import", "support", str(folder), cwd=project)
        assert result.exit_code == 3
        line = _one_line(result.stderr)
        assert "NaN or infinite values" in line and "adapter_model.safetensors: tensor base_model.model." in line
    assert not versions.log(Project(project), "support")


def test_registration_after_training_refuses_a_run_that_diverged(
    project: Path, adapters: list[Path], tmp_path: Path
) -> None:
    """`train` registers its run folder through `versions.register`, as here: a run whose
    weights went NaN is refused, named by its folder, and no version appears."""
    from adapterctl import manifest
    from adapterctl.core.errors import IntegrityError

    run_dir = _copy(adapters[0], tmp_path / "runs" / "r1" / "adapter", value=math.nan)
    spec = manifest.load(project / "adapterctl.toml").adapter("support")
    with pytest.raises(IntegrityError, match=r"runs/r1/adapter: adapter_model.safetensors: tensor .* NaN"):
        versions.register(Project(project), "support", run_dir, spec=spec, training={"steps": 3})
    assert not versions.log(Project(project), "support")


def test_a_broken_version_registered_earlier_is_refused_by_deploy_export_and_pull(
    project: Path, adapters: list[Path], tmp_path: Path, planted, cli, run
) -> None:
    broken = planted(_copy(adapters[0], tmp_path / "nan", value=math.nan))
    for args in (("deploy", broken.ref, "--env", "prod"), ("deploy", broken.ref, "--env", "prod", "--force")):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3 and f"{broken.ref}: adapter_model.safetensors: tensor" in result.stderr
    assert "--force does not change that" in result.stderr
    assert versions.resolve(Project(project), "support").id == broken.id  # still a version, never deployed
    result = cli("export", broken.ref, "--format", "peft", "--out", str(tmp_path / "out"), cwd=project)
    assert result.exit_code == 3 and "NaN or infinite" in result.stderr and not (tmp_path / "out").exists()

    shutil.rmtree(broken.path)  # a fresh machine: the weights come from the remote
    result = run("pull", broken.ref, cwd=project)
    assert result.returncode == 3 and "NaN or infinite" in result.stderr, result.stderr


def test_any_base_import_says_so_in_card_log_and_report(
    project: Path, adapters: list[Path], tmp_path: Path, cli, git
) -> None:
    other = _copy(adapters[0], tmp_path / "other", config={"base_model_name_or_path": "org/renamed-tiny"})
    result = cli("import", "support", str(other), "--any-base", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    vid = json.loads(result.stdout)["id"]
    card = tomllib.loads((project / "adapters" / "support" / f"{vid}.toml").read_text())
    assert card["training"]["any_base"] is True and card["training"]["declared_base"] == "org/renamed-tiny"
    assert json.loads(cli("log", "support", "--json", cwd=project).stdout)[0]["any_base"] is True
    assert "(imported with --any-base)" in cli("log", "support", cwd=project).stdout
    report = cli("report", "--base", "HEAD", cwd=project)
    assert report.exit_code == 0, report.stderr
    assert "Imported with `--any-base`:** support@" in report.stdout

    plain = cli("import", "docs", str(adapters[1]), "--any-base", "--json", cwd=project)  # names the base already
    card = tomllib.loads((project / "adapters" / "docs" / f"{json.loads(plain.stdout)['id']}.toml").read_text())
    assert "any_base" not in card["training"]


def _hashes(project: Path, vid: str) -> tuple[str, str]:
    from adapterctl.store import fingerprints

    card = tomllib.loads((project / "adapters" / "support" / f"{vid}.toml").read_text())
    now = fingerprints.model_hashes(project / BASE, fingerprints.FileCache(Project(project)))[0]
    assert card["base"]["hash"] and now and card["base"]["hash"] != now
    return card["base"]["hash"], now


def test_a_version_on_a_changed_base_is_refused_with_both_hashes(project: Path, imported, tmp_path: Path, cli) -> None:
    (v,) = imported(1)
    build_tiny_model(project / BASE, seed=5)  # other weights under the same name
    trained_on, here = _hashes(project, v.id)
    for args in (
        ("deploy", v.ref, "--env", "prod", "--force"),
        ("export", v.ref, "--format", "vllm", "--out", str(tmp_path / "vllm")),
    ):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3, result.output
        line = _one_line(result.stderr)
        assert trained_on in line and here in line and "re-import the adapter on this base" in line
    assert not (tmp_path / "vllm").exists()


@pytest.mark.slow
def test_generate_eval_and_merge_refuse_a_wrong_base_and_a_broken_version(
    project: Path, imported, adapters: list[Path], tmp_path: Path, planted, cli
) -> None:
    broken = planted(_copy(adapters[1], tmp_path / "nan", value=math.nan))
    for args in (
        ("generate", broken.ref, "hello", "--max-tokens", "4"),
        ("eval", broken.ref),
        ("merge", broken.ref, "--out", str(tmp_path / "merged")),
    ):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3 and "NaN or infinite values" in result.stderr, (args, result.output)

    (v,) = imported(1)
    build_tiny_model(project / BASE, seed=5)
    trained_on, here = _hashes(project, v.id)
    for args in (
        ("generate", v.ref, "hello", "--max-tokens", "4"),
        ("eval", v.ref),
        ("merge", v.ref, "--out", str(tmp_path / "merged")),
    ):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3, (args, result.output)
        assert trained_on in result.stderr and here in result.stderr
    assert not (tmp_path / "merged").exists()
