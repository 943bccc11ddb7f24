"""The one help check: every command, as `adapterctl --help` lists it, has help that reads like
a man page (a summary, an example, help on every option, `--set KEY=VALUE` rather than Python
types), and `--json` wherever it prints results. Plus the registration table's own rules."""

from __future__ import annotations

import re

import pytest
import typer

from adapterctl.cli import COMMANDS, app, docgen

# The only commands without --json, and why: they print no result to parse.
NO_JSON = {
    "serve": "runs the OpenAI-compatible server until stopped; its answers go over HTTP",
    "ui": "runs the dashboard server until stopped",
}


def leaf_names() -> list[str]:
    """Every command a user can run (`data check`, not `data`), for every line of cli.COMMANDS."""
    names = [name for name, _ in docgen.leaf_commands()]
    assert {n.split()[0] for n in names} == set(COMMANDS), "a COMMANDS line has no runnable command"
    return names


def choices(param) -> list[str]:
    desc = getattr(param, "type_descriptor", None)
    return [str(getattr(c, "value", c)) for c in desc.choices or ()] if desc is not None and desc.is_choice else []


@pytest.mark.parametrize("name", ["", *leaf_names()])
def test_help(cli, name: str) -> None:
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0, result.stderr
    leaked = re.findall(r"<(?:bool|str|int|float|path|list\[[a-z]+\])>|\{[a-z_]+\}", result.stdout)
    assert leaked == [], f"adapterctl {name} --help shows {leaked}"
    if not name:
        listed = re.findall(r"^  ([a-z]+)\s{2,}\S", result.stdout.split("Commands:", 1)[1], re.M)
        assert listed == list(COMMANDS), "--help lists the registration table, in its order"
        return
    command = dict(docgen.leaf_commands())[name]
    assert command.help and len(command.help.splitlines()[0]) > 10, f"{name} lacks a one-line summary"
    assert f"Example: adapterctl {name}" in command.help, f"{name} lacks an example"
    options = [p for p in command.params if p.name != "help"]
    assert all(getattr(p, "help", None) for p in options), f"{name} has an option without help"
    has_json = any("--json" in p.opts for p in options)
    assert has_json == (name not in NO_JSON), f"{name}: --json {'missing' if not has_json else 'unexpected'}"
    for p in options:
        if choices(p) and not getattr(p, "hidden", False):
            assert "|".join(choices(p)) in result.stdout, f"{name} {p.opts[0]}: help does not list its choices"
    refs = re.findall(r"NAME@\S*", command.help + " ".join(getattr(p, "help", None) or "" for p in options))
    odd = [r for r in refs if not re.match(r"NAME@(<[a-z0-9 ]+>|~N|\.\.\.)", r)]
    assert odd == [], f"{name}: write versions as NAME@<id>, NAME@<env> or NAME@~N, not {odd}"


def test_help_shows_value_shapes_and_choices(cli) -> None:
    text = cli("train", "--help").stdout
    assert re.search(r"--set\s+KEY=VALUE", text)
    assert "[NAMES...]" in text
    assert re.search(r"--resume\s+Continue", text), "a flag takes no value, so none is shown"
    assert re.search(r"--launcher\s+none\|accelerate", text), "a choice lists its values"
    assert re.search(r"--grid\s+KEY=V1,V2", cli("sweep", "--help").stdout)


def test_n_is_limit_everywhere_and_limit_0_means_no_limit() -> None:
    limits = []
    for name, command in docgen.leaf_commands():
        for p in command.params:
            if "-n" in getattr(p, "opts", ()) or "--limit" in getattr(p, "opts", ()):
                assert p.opts == ["--limit", "-n"], f"{name}: -n is short for --limit only, not {p.opts}"
                assert "(0: no limit" in p.help, f"{name} --limit: help must say that 0 means no limit"
                limits.append(name)
    assert {"log", "eval", "verify"} <= set(limits)


@pytest.mark.parametrize(("name", "old"), [("deploy", "--force"), ("report", "--md")])
def test_old_spellings_stay_as_hidden_aliases(cli, name: str, old: str) -> None:
    """Kept where demo scripts or scaffolded workflows use them; help shows only the new names."""
    command = dict(docgen.leaf_commands())[name]
    assert any(old in p.opts and p.hidden for p in command.params if hasattr(p, "hidden"))
    assert old not in cli(name, "--help").stdout


def test_a_bad_choice_is_exit_2_naming_the_choices(cli) -> None:
    result = cli("merge", "support", "--out", "x", "--into", "halfway")
    assert result.exit_code == 2
    assert "'full'" in result.stderr and "'dequantized'" in result.stderr


def test_every_registered_line_loads_its_command_and_nothing_is_unlisted() -> None:
    import importlib
    import pkgutil

    import adapterctl.cli

    for module in pkgutil.iter_modules(adapterctl.cli.__path__):  # a new module with no COMMANDS line too
        if module.name.endswith("_cmds"):
            importlib.import_module(f"adapterctl.cli.{module.name}")
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, (module, summary) in COMMANDS.items():
        command = group.get_command(ctx, name)
        assert command is not None, f"COMMANDS[{name!r}]: adapterctl.cli.{module} registers no {name!r}"
        assert command.short_help == summary or hasattr(command, "commands")
    registered = {i.name or typer.main.get_command_name(i.callback.__name__) for i in app.registered_commands}
    registered |= {g.name for g in app.registered_groups}
    assert registered <= set(COMMANDS), f"missing from cli.COMMANDS: {sorted(registered - set(COMMANDS))}"


def test_unknown_command_suggests_the_closest(cli) -> None:
    result = cli("lst")
    assert result.exit_code == 2 and "Did you mean 'list'?" in result.stderr
