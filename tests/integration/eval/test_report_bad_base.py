"""`report` and `check` against a base commit with broken files, odd revisions and bad
options (issue 17): one line naming the commit and the path, never a traceback. Cards come
from a fixture, so nothing trains: a git repository is all these need."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.eval.conftest import git

CARD = (
    Path(__file__).parents[2] / "fixtures/cards/fdbb76b1093a3a913cd81a1408261b0d064690038aa155f02dcd19c3cf075eb8.toml"
)
OTHER_ID = "ab" * 32


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project whose main commit has one adapter folder; HEAD (branch feature) adds a card."""
    root = tmp_path / "proj"
    (root / "adapters/support").mkdir(parents=True)
    (root / "adapterctl.toml").write_text(
        '[base]\nmodel = "models/tiny-base"\n\n[adapters.support]\ndata = "d.jsonl"\n'
    )
    (root / "adapters/support/.keep").write_text("")
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    shutil.copy(CARD, root / "adapters/support" / CARD.name)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a new version")
    return root


def _break_main(root: Path, rel: str, data: bytes) -> str:
    """Commit `data` at `rel` on main (HEAD stays on feature); returns main's short sha."""
    git(root, "checkout", "-q", "main")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "broken")
    sha = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "feature")
    (root / rel).unlink(missing_ok=True)
    return sha[:12]


def test_the_report_works_on_the_healthy_repo(repo, cli) -> None:
    result = cli("report", "--base", "main", "--md", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "support@fdbb76b1" in result.stdout
    # @{-1}, the branch checked out before this one (main), is resolved by git itself.
    previous = cli("report", "--base", "@{-1}", "--md", cwd=repo)
    assert previous.exit_code == 0 and previous.stdout == result.stdout.replace("`main`", "`@{-1}`")


@pytest.mark.parametrize("command", ["report", "check"])
@pytest.mark.parametrize("base", ["@{-9}", "HEAD~40", "-x", "main:adapters", "no/such", ""])
def test_a_revision_that_names_no_commit_exits_2(repo, cli, command, base) -> None:
    result = cli(command, "--base", base, cwd=repo)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert f"git: unknown revision {base!r}" in result.stderr


def test_an_invalid_pointer_at_the_base_is_named_with_its_commit(repo, cli) -> None:
    sha = _break_main(repo, "environments/prod/support.toml", b'version = "abc\n')
    result = cli("report", "--base", "main", cwd=repo)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert f"environments/prod/support.toml (main, commit {sha}): invalid TOML" in result.stderr


@pytest.mark.parametrize("command", ["report", "check"])
def test_a_non_utf8_card_at_the_base_is_named_with_its_commit(repo, cli, command) -> None:
    sha = _break_main(repo, f"adapters/support/{OTHER_ID}.toml", b'schema = 1\nmessage = "caf\xe9"\n')
    result = cli(command, "--base", "main", cwd=repo)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert f"adapters/support/{OTHER_ID}.toml at main (commit {sha}): not UTF-8 text" in result.stderr


def test_html_to_a_folder_and_bad_env_names_exit_2(repo, cli, tmp_path) -> None:
    folder = cli("report", "--base", "main", "--html", str(tmp_path), cwd=repo)
    assert folder.exit_code == 2 and "is a folder; name the .html file" in folder.stderr
    for env in ("../../x", "nosuchenv"):
        bad = cli("report", "--base", "main", "--env", env, cwd=repo)
        assert bad.exit_code == 2, bad.stderr
        assert f"--env {env}" in bad.stderr
    (repo / "environments/staging").mkdir(parents=True)
    (repo / "environments/staging/support.toml").write_text(f'version = "{CARD.stem}"\n')
    close = cli("report", "--base", "main", "--env", "stagign", cwd=repo)
    assert close.exit_code == 2 and "did you mean 'staging'?" in close.stderr
    assert cli("report", "--base", "main", "--env", "staging", cwd=repo).exit_code == 0


def test_an_unevaluated_version_of_an_adapter_with_gates_is_not_called_gateless(repo, cli) -> None:
    manifest = repo / "adapterctl.toml"
    manifest.write_text(manifest.read_text() + '\n[adapters.support.gates]\nrouge_l = ">= 0.2"\n')
    result = cli("report", "--base", "main", "--md", cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "not evaluated (rouge_l >= 0.2)" in result.stdout and "none declared" not in result.stdout
