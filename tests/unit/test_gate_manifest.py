"""`validate` checks gate grammar and metric names, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapterctl import manifest
from adapterctl.core.errors import ManifestError

BASE = '[base]\nmodel = "m"\n\n[adapters.support]\ndata = "d.jsonl"\n\n[adapters.support.gates]\n'


def _load(tmp_path: Path, gates: str) -> manifest.Manifest:
    path = tmp_path / "adapterctl.toml"
    path.write_text(BASE + gates)
    return manifest.load(path)


@pytest.mark.parametrize("rule", ['">= 0.2"', '">= prod - 0.01"', '"<= base"', '"> staging+1e-3"', '"< -1"'])
def test_gate_grammar_accepts(tmp_path: Path, rule: str) -> None:
    assert _load(tmp_path, f"rouge_l = {rule}\n").adapter("support").gates["rouge_l"] == rule.strip('"')


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'rouge_l = "== 0.2"\n',
            "adapterctl.toml:8: adapters.support.gates.rouge_l: '== 0.2': write a gate as \"OP NUMBER\" or",
        ),
        ('rouge_l = ">= prod * 2"\n', "adapters.support.gates.rouge_l: '>= prod * 2'"),
        ('rougel = ">= 0.2"\n', "adapters.support.gates.rougel: unknown metric (did you mean 'rouge_l'?)"),
    ],
)
def test_gate_errors_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        _load(tmp_path, line)
    assert message in str(err.value)


def test_eval_metrics_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "adapterctl.toml"
    path.write_text(
        BASE.replace("[adapters.support.gates]\n", "") + '[adapters.support.eval]\nmetrics = ["bleu", "roug"]\n'
    )
    with pytest.raises(ManifestError, match="adapters.support.eval.metrics"):
        manifest.load(path)
