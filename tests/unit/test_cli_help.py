"""Help reads like a man page: `--set KEY=VALUE`, `NAME`, and no Python types after flags."""

from __future__ import annotations

import re

import pytest
import typer

from adapterctl.cli import app
from adapterctl.cli.docgen import _walk


def commands() -> list[str]:
    return [name for name, _ in _walk(typer.main.get_command(app))]


@pytest.mark.parametrize("name", ["", *commands()])
def test_help_has_clean_metavars(cli, name: str) -> None:
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0
    leaked = re.findall(r"<(?:bool|str|int|float|path|list\[[a-z]+\])>|\{[a-z_]+\}", result.stdout)
    assert leaked == [], f"adapterctl {name} --help shows {leaked}"


def test_train_help_shows_value_shapes(cli) -> None:
    text = cli("train", "--help").stdout
    assert re.search(r"--set\s+KEY=VALUE", text)
    assert "[NAMES...]" in text
    assert re.search(r"--resume\s+Continue", text), "a flag takes no value, so none is shown"
