"""[environments.NAME]: the optional table that points an environment at a vLLM server."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError

BASE = '[base]\nmodel = "models/tiny-base"\n'


def load(tmp_path: Path, text: str) -> manifest.Manifest:
    path = tmp_path / "adapterctl.toml"
    path.write_text(text)
    return manifest.load(path)


def test_an_environment_names_its_server_and_engine(tmp_path: Path) -> None:
    m = load(tmp_path, BASE + '[environments.prod]\nserver = "http://10.0.0.5:8000"\nengine = "vllm"\n')
    prod = m.environments["prod"]
    assert (prod.server, prod.engine, prod.grace_seconds, prod.adapters_root) == (
        "http://10.0.0.5:8000",
        "vllm",
        30.0,
        None,
    )
    assert load(tmp_path, BASE).environments == {}


@pytest.mark.parametrize(
    "table, key",
    [
        ('server = "10.0.0.5:8000"', "environments.prod.server"),
        ('server = "http://h:1"\nengine = "tgi"', "environments.prod.engine"),
        ('server = "http://h:1"\ngrace_seconds = -1', "environments.prod.grace_seconds"),
        ('server = "http://h:1"\nsevrer = "x"', "environments.prod.sevrer"),
    ],
)
def test_bad_environment_tables_name_the_key(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ManifestError, match=key.replace(".", r"\.")):
        load(tmp_path, BASE + f"[environments.prod]\n{table}\n")
