"""`adapterctl generate`: one answer from a verified version, streamed to the terminal."""

from __future__ import annotations

import json

import pytest
from servekit import PROMPTS, make_project, reference_answers

pytestmark = pytest.mark.slow


def test_generate_streams_the_versions_greedy_answer(_example_template, peft_adapters, tmp_path, cli) -> None:
    root, (v1, v2) = make_project(_example_template, tmp_path / "demo", peft_adapters)
    expected = reference_answers(root, {v1.id: v1.path}, 10)[(v1.id, PROMPTS[0])]

    result = cli("generate", f"support@{v1.short}", PROMPTS[0], "--max-tokens", "10", cwd=root)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected + "\n"
    assert f"support@{v1.short}: " in result.stderr

    data = json.loads(cli("generate", "support@prod", PROMPTS[0], "--max-tokens", "10", "--json", cwd=root).stdout)
    assert data["version"] == v2.id and data["usage"]["completion_tokens"] <= 10 and data["text"]


def test_generate_refuses_bad_input_in_one_line(_example_template, peft_adapters, tmp_path, cli) -> None:
    root, _ = make_project(_example_template, tmp_path / "demo", peft_adapters, n=1)
    bad = cli("generate", "support", "hi", "--temperature", "9", cwd=root)
    assert bad.exit_code == 2 and "--temperature 9.0" in bad.stderr
    missing = cli("generate", "nosuch", "hi", cwd=root)
    assert missing.exit_code == 2 and "no adapter named 'nosuch'" in missing.stderr
