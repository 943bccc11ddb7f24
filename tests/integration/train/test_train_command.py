"""`adapterctl train` end to end: registration, cards, determinism, --json, several adapters,
--all-stale, resume after a kill, and the accelerate launcher."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers import FAST, loaded_version, start_training, undeclared_keys, wait_for_checkpoint

from adapterctl import versions
from adapterctl.core.project import Project


def sets(*assignments: str) -> list[str]:
    return [arg for a in assignments for arg in ("--set", a)]


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_train_support_acceptance(example_project: Path, cli) -> None:
    """The example's `support` trains, val loss falls >= 30%, and the version loads with plain
    PeftModel.from_pretrained exactly as adapterctl loads it. (Its wall time is a benchmark,
    bench/cpu_train.py, not an assertion: shared machines make timed asserts flaky.)"""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result = cli("train", "support", cwd=example_project)  # evaluated too: exit 1 if its gate failed
    assert result.exit_code == 0, result.stderr

    project = Project(example_project)
    [version] = versions.log(project, "support")
    t = version.card.training
    assert undeclared_keys(t) == [], "every key training writes has a typed field"
    assert t.val_loss is not None and t.val_loss.drop is not None and t.val_loss.drop >= 0.30, t.val_loss
    assert t.val_loss.final is not None and t.val_loss.first is not None
    assert t.val_loss.final <= 0.7 * t.val_loss.first
    assert t.loss_curve == "loss_curve.png" and (version.path / "loss_curve.png").is_file()
    assert t.trained_quantization() == "nf4" and t.batching is not None and t.batching.used == "padding_free"
    assert f"support: version {version.short}" in result.stderr
    # train evaluated it: the example's gate (rouge_l >= 0.3) passes and ROUGE-L beats the base model's.
    assert f"{version.ref}: gates passed" in result.stderr
    [evaluated] = (version.card.metrics.evals or {}).values()
    base_rouge = json.loads((example_project / evaluated.baseline).read_text().splitlines()[0])["metrics"]["rouge_l"]
    assert version.card.metrics.scalars()["rouge_l"] >= 0.3 > base_rouge

    base = AutoModelForCausalLM.from_pretrained(example_project / "models/tiny-base")
    plain = PeftModel.from_pretrained(base, version.path).eval()
    with loaded_version(project, "support") as (ours, tokenizer):
        ids = tokenizer(
            "### Instruction:\nHelp.\n\n### Customer message:\nMy order is late.\n\n### Answer:\n",
            return_tensors="pt",
        ).input_ids
        with torch.no_grad():
            expected, got = plain(input_ids=ids).logits, ours(input_ids=ids).logits
    assert torch.equal(expected, got)


@pytest.mark.slow
def test_same_spec_and_seed_give_the_same_version_id(demo: Path, cli) -> None:
    first = cli("train", "--no-eval", "support", "--json", *sets(*FAST), cwd=demo)
    second = cli("train", "--no-eval", "support", "--json", *sets(*FAST), cwd=demo)
    other_seed = cli("train", "--no-eval", "support", "--json", *sets(*FAST, "train.seed=7"), cwd=demo)
    assert all(r.exit_code == 0 for r in (first, second, other_seed)), first.stderr + second.stderr
    ids = [json_lines(r.stdout)[-1]["results"][0]["version"] for r in (first, second, other_seed)]
    assert ids[0] == ids[1] and len(ids[0]) == 64
    assert ids[2] != ids[0], "another seed gives other weights"
    assert len(versions.log(Project(demo), "support")) == 2


@pytest.mark.slow
def test_json_progress_lines_and_card(demo: Path, cli) -> None:
    result = cli("train", "--no-eval", "support", "--json", *sets(*FAST, 'train.save_dtype="float16"'), cwd=demo)
    assert result.exit_code == 0, result.stderr
    events = json_lines(result.stdout)
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[0]["step"] == 0 and progress[0]["val_loss"] > 0, "the val loss before training comes first"
    assert {e["step"] for e in progress} >= {1, 2, 3, 4} and all(e["total_steps"] == 4 for e in progress)
    assert any(e["loss"] is not None and e["eta_s"] is not None for e in progress)
    [done] = [e for e in events if e["event"] == "done"]
    [r] = done["results"]
    version = versions.resolve(Project(demo), f"support@{r['version'][:12]}")
    card = version.card.to_dict()
    assert card["training"]["save_dtype"] == "float16" and card["training"]["steps"] == 4
    assert card["training"]["run_id"] == r["run_id"] and card["seed"] == 42
    run = json.loads((demo / ".adapterctl/runs" / r["run_id"] / "run.json").read_text())
    assert run["status"] == "registered" and run["version"] == r["version"]
    kept = {p.name for p in (demo / ".adapterctl/runs" / r["run_id"]).iterdir()}
    assert kept == {"run.json", "summary.json", "loss_curve.png"}, "checkpoints go once the version exists"


@pytest.mark.slow
def test_two_adapters_share_one_base_load(demo: Path, cli, monkeypatch) -> None:
    from adapterctl import api, modeling

    loads = []
    real = modeling.load_base
    monkeypatch.setattr(modeling, "load_base", lambda *a, **k: loads.append(1) or real(*a, **k))
    project = Project(demo)
    results = api.train(project, ["support", "docs"], overrides=FAST, progress="none")
    assert [r.adapter for r in results] == ["support", "docs"] and len(loads) == 1
    # docs trained after support on the shared base equals docs trained alone
    alone = api.train(project, ["docs"], overrides=FAST, progress="none")
    assert alone[0].version == results[1].version and len(loads) == 2
    assert len(versions.log(project, "docs")) == 1


@pytest.mark.slow
def test_all_stale_trains_what_changed(demo: Path, cli) -> None:
    manifest = demo / "adapterctl.toml"
    manifest.write_text(manifest.read_text().replace("epochs = 3\n", "epochs = 3\nmax_steps = 3\neval_steps = 3\n"))
    assert cli("train", "--no-eval", "support", cwd=demo).exit_code == 0
    result = cli("train", "--no-eval", "--all-stale", "--json", cwd=demo)
    assert result.exit_code == 0, result.stderr
    assert [r["adapter"] for r in json_lines(result.stdout)[-1]["results"]] == ["docs"]
    again = cli("train", "--no-eval", "--all-stale", "--json", cwd=demo)
    assert again.exit_code == 0 and json_lines(again.stdout)[-1]["results"] == []


def test_nothing_to_train_is_a_usage_error(demo: Path, cli) -> None:
    result = cli("train", "--no-eval", cwd=demo)
    assert result.exit_code == 2 and "name at least one adapter" in result.stderr
    result = cli("train", "--no-eval", "nope", cwd=demo)
    assert result.exit_code == 2 and "no adapter named 'nope'" in result.stderr


@pytest.mark.slow
def test_resume_after_kill_registers_exactly_one_version(demo: Path, cli) -> None:
    proc = start_training(demo, "--set", "train.max_steps=12")
    run_dir = wait_for_checkpoint(demo, proc)
    proc.send_signal(signal.SIGKILL)
    first_stdout, _ = proc.communicate(timeout=30)
    assert not versions.log(Project(demo), "support")
    assert first_stdout == "", "started without --json, the first run printed no JSON progress"
    record = json.loads((run_dir / "run.json").read_text())
    assert "progress" not in record["job"] and "launcher" not in record["job"], "the job is what to train"
    assert record["launcher"]["kind"] == "none", "how the run started: what a plain --resume starts again"

    # The resuming command's options: JSON progress, and a launcher given explicitly wins.
    resume = ["--resume", "--json", "--launcher", "accelerate", "--num-processes", "2"]
    result = cli("train", "--no-eval", "support", *resume, cwd=demo)
    assert result.exit_code == 0, result.stderr
    assert f"resuming run {run_dir.name}" in result.stderr
    assert "checkpointed by 1 process(es) and resumes in 2: the effective batch changes" in result.stderr
    [version] = versions.log(Project(demo), "support")
    t = version.card.training.to_dict()
    assert t["run_id"] == run_dir.name and t["resumed_from_step"] >= 2 and t["steps"] == 12
    assert t["launcher"]["kind"] == "accelerate" and t["world_size"] == 2
    steps = [e["step"] for e in json_lines(result.stdout) if e["event"] == "progress"]
    assert steps and max(steps) == 12 and all(s > t["resumed_from_step"] for s in steps if s), steps
    assert json.loads((run_dir / "run.json").read_text())["status"] == "registered"
    again = cli("train", "--no-eval", "support", "--resume", cwd=demo)
    assert again.exit_code == 2 and "no interrupted run of 'support'" in again.stderr


def test_resume_refuses_a_changed_spec(demo: Path, cli) -> None:
    from adapterctl import manifest
    from adapterctl.train import runs
    from adapterctl.train.job import TrainJob

    project = Project(demo)
    m = manifest.load(project.manifest_path)
    spec = m.adapter("support")
    job = TrainJob.from_spec(spec, manifest.spec_hash(spec, project.root), m.base)
    runs.create(project, "support", job.to_dict()).update(status="interrupted", pid=None)
    result = cli("train", "--no-eval", "support", "--resume", "--set", "train.max_steps=5", cwd=demo)
    assert result.exit_code == 2 and "run without --resume to start over" in result.stderr


@pytest.mark.slow
def test_accelerate_launcher_two_cpu_processes(demo: Path, cli) -> None:
    result = cli(
        "train",
        "support",
        "--no-eval",
        "--launcher",
        "accelerate",
        "--num-processes",
        "2",
        "--json",
        *sets(*FAST),
        cwd=demo,
    )
    assert result.exit_code == 0, result.stderr
    [version] = versions.log(Project(demo), "support")
    t = version.card.training.to_dict()
    assert t["world_size"] == 2 and t["effective_batch"] == 16 and t["launcher"]["kind"] == "accelerate"
    assert t["steps"] == 4 and t["val_loss"]["final"] < t["val_loss"]["first"]
    assert any(e["event"] == "progress" for e in json_lines(result.stdout)[:-1])


@pytest.mark.slow
def test_sweep_ranks_candidates_and_marks_the_best(demo: Path, cli) -> None:
    result = cli(
        "sweep",
        "support",
        "--grid",
        "train.learning_rate=1e-4,5e-3",
        "--set",
        "train.max_steps=4",
        "--set",
        "train.eval_steps=2",
        "--set",
        "train.batch_size=8",
        "--json",
        cwd=demo,
    )
    assert result.exit_code == 0, result.stderr
    sweep = json_lines(result.stdout)[-1]["sweep"]
    ranked = sweep["candidates"]
    assert [c["sweep"]["rank"] for c in ranked] == [1, 2]
    assert ranked[0]["sweep"]["params"] == {"train.learning_rate": 5e-3}, "the higher rate learns more in 4 steps"
    assert ranked[0]["val_loss"]["final"] < ranked[1]["val_loss"]["final"]
    project = Project(demo)
    latest = versions.resolve(project, "support")
    assert latest.id == sweep["best"] and latest.card.sweep is not None and latest.card.sweep.best is True
    assert latest.card.sweep.id == sweep["sweep_id"] == ranked[1]["sweep"]["id"]
    assert len(versions.log(project, "support")) == 2
