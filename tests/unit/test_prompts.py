"""The prompt format a version carries: the chat mapping, its inverse, the card table, the
vLLM chat template (rendered by jinja2 as transformers and vLLM render chat templates), and
the fallback for cards written before the format was recorded."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from adapterctl.data.prompts import PromptError, PromptFormat, for_version, messages_of, to_jinja
from adapterctl.data.templates import DEFAULT_TEXT
from adapterctl.versions import card as cards

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = (ROOT / "example-project/templates/support.txt").read_text()
OLD_CARD = ROOT / "tests/fixtures/cards/fdbb76b1093a3a913cd81a1408261b0d064690038aa155f02dcd19c3cf075eb8.toml"
ROW = {"instruction": "Draft a reply.", "input": "My order has not arrived", "output": "Sorry!"}
TRICKY = "Q: {input}\n{{literal}} 'quotes' \"double\" back\\slash {{%raw%}} é ü 日本\t\r\nA ({instruction}):"


def template(text: str) -> PromptFormat:
    return PromptFormat("template", text, "templates/t.txt")


def test_a_conversation_fills_the_template_as_the_row_did() -> None:
    fmt = template(SUPPORT)
    row_prompt = fmt.render_row(ROW, "evals/support.jsonl:1")
    messages = [
        {"role": "system", "content": "Draft a reply."},
        {"role": "user", "content": "earlier question"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": "My order has not arrived"},
    ]
    assert fmt.render(messages) == row_prompt  # the last user message fills {input}
    assert row_prompt.startswith("### Instruction:\nDraft a reply.\n\n### Customer message:\nMy order has not")
    # no system message: the instruction is empty, as a row with an empty instruction renders
    alone = fmt.render([{"role": "user", "content": "hi"}])
    assert alone == fmt.render_row({"instruction": "", "input": "hi"}, "x")


def test_messages_of_is_the_inverse_of_the_mapping() -> None:
    for fmt, row in [
        (template(SUPPORT), ROW),
        (template(DEFAULT_TEXT), ROW),
        (template("Question: {question}\nAnswer:"), {"question": "why?"}),
        (template("{instruction}\n->"), {"instruction": "do it"}),
        (PromptFormat("plain"), {"prompt": "verbatim <b>", "completion": "x"}),
    ]:
        assert fmt.render(messages_of(row, fmt)) == fmt.render_row(row, "row")


@pytest.mark.parametrize(
    ("fmt", "messages", "words"),
    [
        (template(SUPPORT), [{"role": "system", "content": "x"}], "at least one user message"),
        (PromptFormat("plain"), [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "plain"),
        (template("{a} and {b}"), [{"role": "user", "content": "u"}], "fields a, b"),
        (template("{input} {context}"), [{"role": "user", "content": "u"}], "/v1/completions"),
        (template("Q: {q}"), [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "no field left"),
    ],
)
def test_a_conversation_the_format_cannot_take_is_refused_in_one_line(fmt, messages, words) -> None:
    with pytest.raises(PromptError) as info:
        fmt.render(messages)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_card_table_round_trips_and_a_broken_one_is_named() -> None:
    fmt = template(TRICKY)
    table = fmt.to_card()
    assert table == {"kind": "template", "source": "templates/t.txt", "text": TRICKY}
    assert PromptFormat.from_card(cards.without_none(table), "card") == fmt
    chat = PromptFormat("chat", chat_template="{{ messages }}", source="")
    assert PromptFormat.from_card(chat.to_card(), "card") == chat
    with pytest.raises(Exception, match="prompt.kind 'jinja'"):
        PromptFormat.from_card({"kind": "jinja"}, "card of support@abc")
    with pytest.raises(Exception, match="placeholder"):
        PromptFormat.from_card({"kind": "template", "text": "{a.b}"}, "card")


def _jinja_render(text: str, messages: list[dict], bos: str = "<s>") -> str:
    """As transformers' apply_chat_template and vLLM compile chat templates."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(text).render(messages=messages, bos_token=bos, add_generation_prompt=True)


@pytest.mark.parametrize("text", [SUPPORT, DEFAULT_TEXT, TRICKY, "Q: {question}\nA:", "{instruction}"])
def test_the_vllm_chat_template_renders_exactly_the_training_prompt(text: str) -> None:
    fmt = template(text)
    conversations = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "It's {broken} \\n é"}],
        [{"role": "user", "content": "only a user"}],
        [
            {"role": "system", "content": "one"},
            {"role": "system", "content": "two"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": "last"},
        ],
    ]
    for messages in conversations:
        try:
            expected = fmt.render(messages)
        except PromptError:
            with pytest.raises(Exception, match="system message"):
                _jinja_render(to_jinja(fmt, bos=True), messages)
            continue
        assert _jinja_render(to_jinja(fmt, bos=True), messages) == "<s>" + expected
        assert _jinja_render(to_jinja(fmt, bos=False), messages) == expected


def test_the_plain_format_as_a_chat_template_is_the_user_message() -> None:
    jinja = to_jinja(PromptFormat("plain"), bos=False)
    assert _jinja_render(jinja, [{"role": "user", "content": "as {is} 'x'"}]) == "as {is} 'x'"


def test_an_old_card_without_a_format_falls_back_to_the_template_with_a_notice(tmp_path: Path) -> None:
    card = cards.load(OLD_CARD)
    assert card.prompt is None
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/support.txt").write_text(SUPPORT)
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals/support.jsonl").write_text('{"instruction": "i", "input": "x", "output": "y"}\n')
    notices: list[str] = []
    version = SimpleNamespace(card=card, ref=card.ref)
    fmt = for_version(SimpleNamespace(root=tmp_path), version, notice=notices.append)
    assert fmt == PromptFormat("template", SUPPORT, "templates/support.txt")
    # the card's commit is not in this (non-git) folder: the template as it is now, said so
    assert notices == [
        f"{card.ref}: its card records no prompt format (an older card); using templates/support.txt as it is now"
    ]

    (tmp_path / "templates/support.txt").unlink()
    with pytest.raises(Exception, match="no prompt format recorded, and templates/support.txt is not in this project"):
        for_version(SimpleNamespace(root=tmp_path), version)
