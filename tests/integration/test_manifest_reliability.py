"""Issue 8, item 5: manifest edits and `validate` refuse what cannot work, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_add_refuses_a_folder_as_data(example_project: Path, cli) -> None:
    result = cli("add", "folder", "--data", "data", cwd=example_project)
    assert result.exit_code == 2 and "data is a folder; name a file" in result.stderr
    assert "[adapters.folder]" not in (example_project / "adapterctl.toml").read_text()


@pytest.mark.parametrize("model", ["./models/missing", "models/missing", "/nowhere/base", "a/b/c"])
def test_validate_flags_a_local_looking_base_that_does_not_exist(example_project: Path, cli, model: str) -> None:
    path = example_project / "adapterctl.toml"
    path.write_text(path.read_text().replace('model = "models/tiny-base"', f'model = "{model}"'))
    result = cli("validate", cwd=example_project)
    assert result.exit_code == 2, result.stdout
    assert "base.model" in result.stderr and "does not exist" in result.stderr and "adapterctl.toml:" in result.stderr


def test_validate_accepts_a_hub_id_and_the_local_example_base(example_project: Path, cli) -> None:
    assert cli("validate", cwd=example_project).exit_code == 0
    path = example_project / "adapterctl.toml"
    path.write_text(
        path.read_text().replace('model = "models/tiny-base"', 'model = "Qwen/Qwen2.5-0.5B"\nrevision = "abc"')
    )
    assert cli("validate", cwd=example_project).exit_code == 0
