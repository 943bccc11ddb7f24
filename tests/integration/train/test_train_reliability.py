"""Issue 8 regressions on `train`, on the real stack (tiny model, real DVC, real git):
one-line errors for bad input (item 1), a trained run registers exactly what was trained
and SIGTERM acts as Ctrl-C (item 3), and the data a version names is in the DVC cache (item 4)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FAST, start_training, subprocess_env, wait_for_checkpoint

from adapterctl import versions
from adapterctl.core import faults
from adapterctl.core.project import Project
from adapterctl.store import storage, weights
from adapterctl.store.fingerprints import file_digest

pytestmark = pytest.mark.slow  # trains, or loads the training stack


def sets(*assignments: str) -> list[str]:
    return [arg for a in assignments for arg in ("--set", a)]


def _train(root: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adapterctl", "train", "support", "--no-eval", *extra],
        cwd=root,
        env={**subprocess_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _runs(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / ".adapterctl/runs").glob("support-*/run.json"))]


def _error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


# ── item 1 ──


def test_non_utf8_training_data_names_file_and_line(demo: Path, cli) -> None:
    path = demo / "data/support.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"customer", b"cust\xe9mer", 1)
    path.write_bytes(b"\n".join(lines))
    checked = cli("train", "support", *sets(*FAST), cwd=demo)  # the data check refuses first
    assert checked.exit_code == 2
    assert "schema at data/support.jsonl line 3" in _error_line(checked.stderr)
    forced = cli("train", "support", "--allow-data-errors", *sets(*FAST), cwd=demo)  # past it, the loader says the same
    assert forced.exit_code == 2
    assert "data/support.jsonl:3: not UTF-8 text" in _error_line(forced.stderr)


def test_max_length_too_short_for_any_answer_is_one_line(demo: Path, cli) -> None:
    result = cli("train", "support", *sets(*FAST, "train.max_length=2"), cwd=demo)
    assert result.exit_code == 2
    assert "train.max_length = 2" in _error_line(result.stderr)


def test_schema_bounds_stop_train_before_anything_loads(demo: Path, cli) -> None:
    for bad in ("train.batch_size=99999999999999999999999", "train.seed=1099511627776", "train.max_length=1"):
        result = cli("train", "support", *sets(bad), cwd=demo)
        assert result.exit_code == 2 and bad.split("=")[0].split(".")[1] in _error_line(result.stderr)
    assert not _runs(demo), "refused before a run was created"


def test_loftq_without_cuda_is_refused(demo: Path, cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: loftq can run")
    result = cli("train", "support", *sets(*FAST, 'lora.init_lora_weights="loftq"'), cwd=demo)
    assert result.exit_code == 2 and "loftq needs a CUDA GPU" in _error_line(result.stderr)


def test_unreachable_remote_during_train_is_one_line_and_resume_registers(demo: Path) -> None:
    blocker = demo.parent / "not-a-folder"
    blocker.write_text("x\n")
    storage.add_remote(demo, "storage", str(blocker / "remote"))
    failed = _train(demo, *sets(*FAST))
    assert failed.returncode == 4  # storage
    line = _error_line(failed.stderr)
    assert "dvc push to remote storage failed" in line and "adapterctl train support --resume" in line
    assert [r["status"] for r in _runs(demo)] == ["trained"]
    assert not list((demo / "adapters").glob("support/*.toml"))

    storage.add_remote(demo, "storage", str(demo.parent / "remote"))
    resumed = _train(demo, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    [version] = versions.log(Project(demo), "support")
    assert version.card.training.steps == 4 and version.card.training.resumed_from_step is None


# ── item 3 ──


def test_killed_during_registration_resume_registers_exactly_what_was_trained(demo: Path) -> None:
    killed = _train(
        demo,
        *sets("train.max_steps=3", "train.eval_steps=1", "train.batch_size=8"),
        env={faults.ENV_VAR: "staged:exit"},
    )
    assert killed.returncode == 86, killed.stderr[-3000:]  # died inside registration, as kill -9 would
    [run] = _runs(demo)
    assert run["status"] == "trained"
    run_dir = demo / ".adapterctl/runs" / run["id"]
    trained_bytes = (run_dir / "adapter" / weights.WEIGHTS).read_bytes()

    resumed = _train(demo, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "finished training: registering its result" in resumed.stderr
    [version] = versions.log(Project(demo), "support")
    training = version.card.training
    assert training.steps == 3 and training.planned_steps == 3, "not trained past max_steps"
    assert training.resumed_from_step is None and training.run_id == run["id"]
    assert (version.path / weights.WEIGHTS).read_bytes() == trained_bytes, "the weights that were trained"
    assert _runs(demo)[0]["status"] == "registered"


def test_sigterm_marks_the_run_interrupted_exits_143_and_status_shows_resume(demo: Path, cli) -> None:
    proc = start_training(demo)
    run_dir = wait_for_checkpoint(demo, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr and "adapterctl train support --resume" in stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"

    status = cli("status", cwd=demo)
    assert status.exit_code == 0
    assert (
        f"run {run_dir.name} is interrupted" in status.stderr and "adapterctl train support --resume" in status.stderr
    )
    [row] = [r for r in json.loads(cli("status", "--json", cwd=demo).stdout) if r["name"] == "support"]
    assert row["unfinished_run"] == {
        "id": run_dir.name,
        "status": "interrupted",
        "resume": "adapterctl train support --resume",
    }


# ── item 4 ──


def test_data_edited_without_dvc_add_is_stored_in_the_cache(demo: Path, cli) -> None:
    data = demo / "data/support.jsonl"  # the demo fixture cut it to 200 rows without `dvc add`
    md5 = file_digest(data, "md5")
    assert storage.md5(data) != md5 and storage.cached_file(demo, md5) is None
    result = cli("train", "support", "--no-eval", *sets(*FAST), cwd=demo)
    assert result.exit_code == 0, result.stderr
    [version] = versions.log(Project(demo), "support")
    assert version.card.data.train.md5 == md5
    cached = storage.cached_file(demo, md5)
    assert cached is not None and cached.read_bytes() == data.read_bytes(), "the exact bytes trained on"
    assert storage.md5(data) == md5, "the .dvc file names them"
    assert version.card.git_commit.endswith("-dirty"), "data/support.jsonl.dvc changed since HEAD"
    assert cli("push", cwd=demo).exit_code == 0
    assert (demo.parent / "remote" / "files" / "md5" / md5[:2] / md5[2:]).is_file()
