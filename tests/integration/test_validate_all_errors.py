"""`validate` lists every problem with file:line: key (and --json lists them all); gates must
compare with base, a declared or existing environment, or a finite number, and gate only
metrics eval computes (issue 17)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

HEAD = '[base]\nmodel = "m"\n\n[environments.staging]\nserver = "http://127.0.0.1:9"\n\n'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "d.jsonl").write_text('{"instruction": "a", "output": "b"}\n')
    return tmp_path


def _write(root: Path, text: str) -> list[str]:
    (root / "adapterctl.toml").write_text(HEAD + text)
    return (HEAD + text).splitlines()


def _line(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_every_error_is_listed_with_file_line_and_key(root, cli) -> None:
    lines = _write(
        root,
        '[defaults.train]\nlearning_rate = "fast"\nmax_steps = -1\n\n'
        '[adapters.a]\ndata = "d.jsonl"\nbogus = 1\n\n[adapters.b]\ndata = "missing.jsonl"\n',
    )
    result = cli("validate", cwd=root)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if re.match(r"error: adapterctl.toml:\d+: ", line)]
    assert len(errors) == 3, result.stderr
    assert f"adapterctl.toml:{_line(lines, 'learning_rate')}: defaults.train.learning_rate:" in errors[0]
    assert f"adapterctl.toml:{_line(lines, 'max_steps')}: defaults.train.max_steps:" in errors[1]
    assert f"adapterctl.toml:{_line(lines, 'bogus')}: adapters.a.bogus: unknown key" in errors[2]
    assert "more)" not in result.stderr and len(result.stderr.splitlines()) == 3, "one line per problem, no more"

    as_json = cli("validate", "--json", cwd=root)
    assert as_json.exit_code == 2
    report = json.loads(as_json.stdout)
    assert report["valid"] is False and len(report["errors"]) == 3
    assert report["errors"][2] == {
        "file": "adapterctl.toml",
        "line": _line(lines, "bogus"),
        "key": "adapters.a.bogus",
        "message": "unknown key (did you mean 'gates'?)",
    }


def test_file_problems_and_gate_problems_are_listed_together(root, cli) -> None:
    _write(
        root,
        '[adapters.a]\ndata = "missing.jsonl"\n\n[adapters.a.gates]\nchrf = ">= prdo - 0.3"\n\n'
        '[adapters.b]\ndata = "nope.jsonl"\n',
    )
    result = cli("validate", "--json", cwd=root)
    errors = json.loads(result.stdout)["errors"]
    assert [e["key"] for e in errors] == ["adapters.a.data", "adapters.b.data", "adapters.a.gates.chrf"]
    assert "did you mean 'prod'?" in errors[2]["message"] and "neither base" in errors[2]["message"]


@pytest.mark.parametrize(
    "gate, message",
    [
        (
            '">= prdo - 0.3"',
            "compares with 'prdo', which is neither base, prod, staging, a declared [environments.prdo]",
        ),
        ('">= canary"', "nor an environment in environments/ (known: base, prod, staging)"),
        ('">= stagign"', "did you mean 'staging'?"),
        ('">= nan"', "nan is not a finite number"),
        ('">= inf"', "inf is not a finite number"),
        ('">= 1e999"', "1e999 is not a finite number"),
        ('">= base - 1e400"', "is not a finite number"),
    ],
)
def test_a_gate_must_name_a_known_environment_or_a_finite_number(root, cli, gate, message) -> None:
    lines = _write(root, f'[adapters.a]\ndata = "d.jsonl"\n\n[adapters.a.gates]\nrouge_l = {gate}\n')
    result = cli("validate", cwd=root)
    assert result.exit_code == 2, result.stdout
    assert f"adapterctl.toml:{_line(lines, 'rouge_l =')}: adapters.a.gates.rouge_l:" in result.stderr
    assert message in result.stderr


def test_gates_on_declared_existing_and_base_references_pass(root, cli) -> None:
    (root / "environments/canary").mkdir(parents=True)
    (root / "environments/canary/a.toml").write_text('version = ""\n')
    _write(
        root,
        '[adapters.a]\ndata = "d.jsonl"\n\n[adapters.a.gates]\n'
        'rouge_l = ">= prod - 0.01"\nchrf = ">= staging"\nbleu = ">= base"\neval_loss = "<= 2.5"\n'
        'rouge1 = ">= canary"\n',
    )
    result = cli("validate", cwd=root)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("metrics", ["[]", '["bleu"]'])
def test_a_gate_on_a_metric_eval_does_not_compute_exits_2(root, cli, metrics) -> None:
    lines = _write(
        root,
        f'[adapters.a]\ndata = "d.jsonl"\n\n[adapters.a.eval]\nmetrics = {metrics}\n\n[adapters.a.gates]\nrouge_l = ">= 0.2"\n',
    )
    result = cli("validate", cwd=root)
    assert result.exit_code == 2
    assert (
        f"adapterctl.toml:{_line(lines, 'metrics =')}: adapters.a.eval.metrics: the gate on rouge_l can never pass"
        in result.stderr
    )
