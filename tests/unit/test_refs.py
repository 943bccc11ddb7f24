"""The reference grammar: one parse/format pair, round-tripping."""

from __future__ import annotations

import pytest

from adapterctl.core.errors import RefError
from adapterctl.core.refs import Ref, format_ref, is_env_name, parse_ref

CANONICAL = [
    ("support", Ref("support")),
    ("support@3f2a", Ref("support", "id", "3f2a")),
    ("support@3f2a9c1e0b7d", Ref("support", "id", "3f2a9c1e0b7d")),
    ("support@" + "a" * 64, Ref("support", "id", "a" * 64)),
    ("support@prod", Ref("support", "env", "prod")),
    ("my-adapter_2@staging-eu", Ref("my-adapter_2", "env", "staging-eu")),
    ("support@~1", Ref("support", "back", "1")),
    ("support@~12", Ref("support", "back", "12")),
]


@pytest.mark.parametrize(("text", "ref"), CANONICAL)
def test_parse_and_format_round_trip(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref
    assert format_ref(ref) == text
    assert str(ref) == text
    assert parse_ref(format_ref(ref)) == ref


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("support@~", "support@~1"),
        ("support@~0", "support"),
        ("support@~007", "support@~7"),
        ("  support@prod ", "support@prod"),
    ],
)
def test_equivalent_spellings_format_to_one_form(text: str, normal: str) -> None:
    assert format_ref(parse_ref(text)) == normal


def test_steps_back() -> None:
    assert parse_ref("support@~3").steps_back == 3
    assert parse_ref("support").steps_back == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@prod",
        "support@",
        "support@@prod",
        "support@prod@x",
        "support@~x",
        "support@~-1",
        "sup port",
        "support@abc",
        "support@1prod",
        "-support",
        "support@" + "a" * 65,
    ],
)
def test_invalid_references_are_clear_errors(text: str) -> None:
    with pytest.raises(RefError) as info:
        parse_ref(text)
    assert "reference" in str(info.value)


def test_hex_only_names_are_ids_never_environments() -> None:
    assert parse_ref("support@dead").kind == "id"
    assert parse_ref("support@beef42").kind == "id"
    assert not is_env_name("dead")
    assert is_env_name("prod") and is_env_name("deadline")
    assert parse_ref("support@deadline").kind == "env"
    with pytest.raises(RefError, match="at least 4 hex digits"):
        parse_ref("support@abc")
