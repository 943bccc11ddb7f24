"""`adapterctl generate`: one answer from a verified version, streamed to the terminal."""

from __future__ import annotations

import json

import pytest
from servekit import PROMPTS, make_project, reference_answers

pytestmark = pytest.mark.slow


def test_generate_streams_the_versions_greedy_answer(_example_template, peft_adapters, tmp_path, cli) -> None:
    root, (v1, v2) = make_project(_example_template, tmp_path / "demo", peft_adapters)
    expected = reference_answers(root, {v1.id: v1.path}, 10)[(v1.id, PROMPTS[0])]

    result = cli("generate", f"support@{v1.short}", PROMPTS[0], "--raw", "--max-tokens", "10", cwd=root)
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


def test_generate_applies_the_versions_prompt_format_unless_raw(
    _example_template, peft_adapters, tmp_path, cli
) -> None:
    root, (v1, _) = make_project(_example_template, tmp_path / "demo", peft_adapters)
    template = (root / "templates/support.txt").read_text()
    rendered = template.format(instruction="Answer the customer.", input=PROMPTS[1])
    expected = reference_answers(root, {v1.id: v1.path}, 8, [rendered])[(v1.id, rendered)]

    args = ("generate", f"support@{v1.short}", PROMPTS[1], "--system", "Answer the customer.", "--max-tokens", "8")
    result = cli(*args, "--json", cwd=root)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rendered"] == rendered and data["text"] == expected
    # an imported version's card records no format: the manifest's template, and a notice says so
    assert "records no prompt format" in result.stderr
    assert json.loads(cli(*args, "--chat", "--json", cwd=root).stdout)["rendered"] == rendered

    raw = json.loads(
        cli("generate", f"support@{v1.short}", PROMPTS[1], "--raw", "--max-tokens", "8", "--json", cwd=root).stdout
    )
    assert raw["rendered"] == PROMPTS[1] and raw["usage"]["prompt_tokens"] < data["usage"]["prompt_tokens"]
    both = cli("generate", "support", "hi", "--raw", "--system", "x", cwd=root)
    assert both.exit_code == 2 and "--raw sends the prompt verbatim" in both.stderr
