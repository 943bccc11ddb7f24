"""Environments: deploy, rollback, the move history in environments/ENV/NAME.toml, and integrity checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.core.tomlread import tomllib
from adapterctl.store import environments, weights


def test_deploy_deploy_rollback_returns_to_the_first_with_three_moves(project: Path, imported, cli) -> None:
    first, second = imported(2)
    assert cli("deploy", f"support@{first.short}", "--env", "prod", "-m", "go live", cwd=project).exit_code == 0
    assert cli("deploy", "support", "--env", "prod", cwd=project).exit_code == 0
    result = cli("rollback", "support", "--env", "prod", "-m", "bad answers", "--json", cwd=project)
    assert result.exit_code == 0, result.stderr
    moved = json.loads(result.stdout)
    assert moved["version"] == first.id and moved["previous"] == second.id and moved["moved"]

    assert versions.resolve(Project(project), "support@prod").id == first.id
    rows = json.loads(cli("envs", "support", "--env", "prod", "--history", "--json", cwd=project).stdout)
    moves = rows[0]["moves"]
    assert [(m["action"], m["from"], m["to"]) for m in moves] == [
        ("deploy", "", first.id),
        ("deploy", first.id, second.id),
        ("rollback", second.id, first.id),
    ]
    assert [m["message"] for m in moves] == ["go live", "", "bad answers"]
    assert all(m["at"].endswith("Z") and m["forced"] is False for m in moves)
    assert moves[0]["at"] < moves[1]["at"] < moves[2]["at"]

    pointer_file = tomllib.loads((project / "environments" / "prod" / "support.toml").read_text())
    assert pointer_file["version"] == first.id
    assert len(pointer_file["moves"]) == 3
    assert not (project / "adapterctl.lock").exists()

    log = json.loads(cli("log", "support", "--json", cwd=project).stdout)
    assert [e["environments"] for e in log] == [[], ["prod"]]
    history = cli("envs", "--history", cwd=project)
    assert "rollback" in history.stdout and "bad answers" in history.stdout


def test_rollback_walks_back_the_deploy_path_and_then_stops(project: Path, imported, cli) -> None:
    a, b, c = imported(3)
    for v in (a, b, c):
        assert cli("deploy", v.ref, "--env", "prod", cwd=project).exit_code == 0
    assert cli("rollback", "support", "--env", "prod", cwd=project).exit_code == 0
    assert versions.resolve(Project(project), "support@prod", verify=False).id == b.id
    assert cli("rollback", "support", "--env", "prod", cwd=project).exit_code == 0
    assert versions.resolve(Project(project), "support@prod", verify=False).id == a.id
    result = cli("rollback", "support", "--env", "prod", cwd=project)
    assert result.exit_code == 2 and "no earlier version" in result.stderr and "--to" in result.stderr
    assert cli("rollback", "support", "--env", "prod", "--to", c.short, cwd=project).exit_code == 0
    assert versions.resolve(Project(project), "support@prod", verify=False).id == c.id


def test_previous_target_replays_moves() -> None:
    def pointer(*targets: str) -> environments.Pointer:
        return environments.Pointer("prod", "x", targets[-1], [environments.Move(to=t) for t in targets])

    assert environments.previous(pointer("a")) is None
    assert environments.previous(pointer("a", "b")) == "a"
    assert environments.previous(pointer("a", "b", "c", "b")) == "a"
    assert environments.previous(pointer("a", "b", "a")) is None
    assert environments.previous(pointer("a", "b", "c", "a", "d")) == "a"


def test_deploy_is_idempotent_and_validates_its_input(project: Path, imported, cli) -> None:
    (v,) = imported(1)
    assert cli("deploy", v.ref, "--env", "staging", cwd=project).exit_code == 0
    again = cli("deploy", v.ref, "--env", "staging", "--json", cwd=project)
    assert again.exit_code == 0 and json.loads(again.stdout)["moved"] is False
    assert len(environments.load(Project(project))["staging"]["support"].moves) == 1

    result = cli("deploy", v.ref, "--env", "beef", cwd=project)
    assert result.exit_code == 2 and "invalid environment name" in result.stderr
    result = cli("deploy", "support@0000", "--env", "prod", cwd=project)
    assert result.exit_code == 2 and "no version of support has an id starting with 0000" in result.stderr
    result = cli("rollback", "support", "--env", "prod", cwd=project)
    assert result.exit_code == 2 and "never served" in result.stderr
    result = cli("resolve", "support@prod", cwd=project)
    assert result.exit_code == 2 and "no environment named 'prod' (environments: staging)" in result.stderr
    # Issue 17: a mistyped id reads as an environment; never suggest deploying to it.
    result = cli("deploy", "support@zzz", "--env", "staging", cwd=project)
    assert result.exit_code == 2 and "no environment named 'zzz'" in result.stderr
    assert "--env zzz" not in result.stderr and "a version id is 4 or more hex digits" in result.stderr
    result = cli("resolve", "support@stagign", cwd=project)
    assert "did you mean support@staging?" in result.stderr


def test_deploy_refuses_failed_gates_unless_forced(project: Path, imported, cli) -> None:
    (v,) = imported(1)
    v = versions.record_metrics(
        Project(project),
        v,
        {"rouge_l": 0.12, "val": {"loss": 2.5}},
        gates={"passed": False, "failed": ["rouge_l >= 0.2"]},
    )
    assert versions.resolve(Project(project), v.ref).card.metrics.to_dict() == {"rouge_l": 0.12, "val": {"loss": 2.5}}
    log = json.loads(cli("log", "support", "--json", cwd=project).stdout)
    assert log[0]["metrics"] == {"rouge_l": 0.12, "val.loss": 2.5}
    assert "rouge_l=0.12" in cli("log", "support", cwd=project).stdout
    result = cli("deploy", v.ref, "--env", "prod", cwd=project)
    assert result.exit_code == 1 and "failed its eval gates (rouge_l >= 0.2)" in result.stderr
    assert cli("deploy", v.ref, "--env", "prod", "--ignore-gates", cwd=project).exit_code == 0
    assert environments.load(Project(project))["prod"]["support"].moves[-1].forced is True
    assert cli("deploy", v.ref, "--env", "staging", "--force", cwd=project).exit_code == 0, "the old spelling works"
    assert environments.load(Project(project))["staging"]["support"].moves[-1].forced is True


def test_flipped_byte_is_refused_by_deploy_and_resolve_and_pull_repairs_it(
    project: Path, imported, cli, corrupt
) -> None:
    (v,) = imported(1)
    corrupt(v.path / weights.WEIGHTS)
    for args in (("deploy", v.ref, "--env", "prod"), ("resolve", v.ref)):
        result = cli(*args, cwd=project)
        assert result.exit_code == 3, args  # integrity
        assert "do not match the recorded id" in result.stderr and "adapterctl pull" in result.stderr
    assert "prod" not in environments.load(Project(project))

    pulled = cli("pull", v.ref, "--json", cwd=project)
    assert pulled.exit_code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["verified"] == [v.ref]
    resolved = cli("resolve", v.ref, cwd=project)
    assert resolved.exit_code == 0 and resolved.stdout.strip() == str(v.path)

    corrupt(v.path / weights.WEIGHTS)  # resolve --pull replaces a corrupt copy, loudly
    resolved = cli("resolve", v.ref, "--pull", cwd=project)
    assert resolved.exit_code == 0 and resolved.stdout.strip() == str(v.path)
    assert "does not match its id; fetching a fresh copy" in resolved.stderr
    assert weights.content_id(v.path) == v.id


def test_rollback_refuses_a_version_available_neither_locally_nor_on_the_remote(project: Path, imported, cli) -> None:
    first, second = imported(2)
    cli("deploy", first.ref, "--env", "prod", cwd=project)
    cli("deploy", second.ref, "--env", "prod", cwd=project)
    shutil.rmtree(first.path)
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project.parent / "remote")
    result = cli("rollback", "support", "--env", "prod", cwd=project)
    assert result.exit_code == 4 and "available neither locally nor on the remote" in result.stderr
    assert versions.resolve(Project(project), "support@prod").id == second.id  # still there: folder intact


def test_env_pointing_at_a_card_from_another_branch(project: Path, imported, cli) -> None:
    first, _ = imported(2)
    cli("deploy", first.ref, "--env", "prod", cwd=project)
    first.card_path.unlink()  # as if the card were only on another branch
    result = cli("resolve", "support@prod", cwd=project)
    assert result.exit_code == 2 and "is not on this branch" in result.stderr
    log = cli("log", "support", cwd=project)
    assert log.exit_code == 0 and f"prod serves support@{first.short}, whose card is not on this branch" in log.stderr
