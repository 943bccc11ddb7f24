"""`diff` is drawn for the terminal by default, `--md` gives markdown, and `diff A A` says
the two are one version (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path


def test_diff_renders_for_the_terminal_and_md_gives_markdown(project: Path, imported, cli) -> None:
    first, second = imported(2)
    view = cli("diff", first.ref, second.ref, cwd=project)
    assert view.exit_code == 0, view.stderr
    text = view.stdout
    assert f"{second.ref} vs {first.ref}" in text and "model.layers.0.self_attn.q_proj" in text
    assert "<details>" not in text and "```" not in text and "|---" not in text and "## " not in text
    assert "┃" in text or "│" in text, "tables are drawn as boxes"

    md = cli("diff", first.ref, second.ref, "--md", cwd=project)
    assert md.exit_code == 0 and md.stdout.startswith(f"## {second.ref} vs {first.ref}")
    assert "|---|" in md.stdout and md.stdout != text


def test_diff_of_a_version_with_itself_says_so(project: Path, imported, cli) -> None:
    [v] = imported(1)
    for other in (v.ref, "support", f"support@{v.id[:6]}"):
        same = cli("diff", v.ref, other, cwd=project)
        assert same.exit_code == 0
        assert f"{v.ref} and {other} are the same version ({v.ref}): nothing differs" in same.stderr
        assert same.stdout == ""
    as_json = json.loads(cli("diff", v.ref, "support", "--json", cwd=project).stdout)
    assert as_json == {"same_version": True, "a": v.ref, "b": "support", "version": v.ref}
