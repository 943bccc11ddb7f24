"""Generates docs/cli.md from the Typer app and docs/manifest.md from the manifest schema.

Run `python -m adapterctl.cli.docgen` after changing a command or a schema field; a test
fails while the committed docs differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

import typer
from typer import _click as click

from adapterctl.cli import app
from adapterctl.core.errors import EXIT_CODES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def leaf_commands() -> list[tuple[str, click.Command]]:
    """(full name, command) for every visible leaf command (`data check`, not `data`), in the
    order of `adapterctl --help`. Loads every command module."""
    return list(_walk(typer.main.get_command(app)))


def cli_markdown() -> str:
    lines = [
        "# Command reference",
        "",
        "Generated from the app by `python -m adapterctl.cli.docgen`; do not edit by hand.",
        "",
        "Global options: `--traceback` (show the stack on errors), `--version`.",
        "",
        "Exit codes, the same for every command (`adapterctl/core/errors.py`):",
        "",
        "| code | meaning |",
        "|---|---|",
        *(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items()),
        "",
    ]
    for name, command in leaf_commands():
        lines += [f"## adapterctl {name}", ""]
        ctx = typer.Context(command, info_name=f"adapterctl {name}")
        lines += ["```", command.get_usage(ctx).strip(), "```", ""]
        lines += [_plain(command.help or ""), ""]
        params = [p for p in command.params if p.name != "help" and not getattr(p, "hidden", False)]
        if params:
            lines += ["| argument / option | help |", "|---|---|"]
            for p in params:
                decl = " / ".join(p.opts) if p.param_type_name == "option" else p.name.upper()
                text = (getattr(p, "help", None) or "") + _choices(p)
                lines.append(f"| `{decl}` | {text.replace('|', '/')} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _walk(group, prefix: str = ""):
    """(full name, command) for every leaf command, in registration order."""
    if hasattr(group, "commands"):
        ctx = typer.Context(group)
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            full = f"{prefix}{name}"
            if hasattr(sub, "commands"):
                yield from _walk(sub, full + " ")
            else:
                yield full, sub


def _choices(param: click.Parameter) -> str:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or not desc.is_choice:
        return ""
    return " One of: " + ", ".join(f"`{getattr(c, 'value', c)}`" for c in desc.choices or ()) + "."


def _plain(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


def manifest_markdown() -> str:
    from adapterctl import manifest as m

    lines = [
        "# Manifest reference: adapterctl.toml",
        "",
        "Generated from the schema by `python -m adapterctl.cli.docgen`; do not edit by hand.",
        "Unknown keys are errors (with a did-you-mean); every error names the key path.",
        "`[adapters.NAME.lora]`, `.train` and `.eval` override `[defaults.*]` key by key;",
        "`--set TABLE.KEY=VALUE` overrides both for one run. `[adapters.NAME.data_checks]` overrides",
        "`[defaults.data]`, the settings of `adapterctl data check`.",
        "",
    ]
    tables: list[tuple[str, type[BaseModel]]] = [
        ("[project]", m.ProjectSection),
        ("[base]", m.BaseSection),
        ("[defaults.lora] / [adapters.NAME.lora]", m.LoraSpec),
        ("[defaults.train] / [adapters.NAME.train]", m.TrainSpec),
        ("[defaults.eval] / [adapters.NAME.eval]", m.EvalSpec),
        ("[defaults.data] / [adapters.NAME.data_checks]", m.DataCheckSpec),
        ("[adapters.NAME]", m.AdapterSection),
        ("[environments.NAME] (optional: environments that drive a vLLM server)", m.EnvironmentSection),
    ]
    for title, model in tables:
        lines += [f"## {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, field in model.model_fields.items():
            if field.is_required():
                default = "required"
            elif field.default_factory is not None:
                default = f"`{field.get_default(call_default_factory=True, validated_data={})!r}`"
            else:
                default = f"`{field.default!r}`"
            kind = _type_name(field.annotation).replace("|", "or")
            lines.append(f"| `{field.alias or key}` | {kind} | {default} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _type_name(annotation: object) -> str:
    text = str(annotation)
    for noise in ("typing.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text


def write() -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    written = []
    for name, text in (("cli.md", cli_markdown()), ("manifest.md", manifest_markdown())):
        path = DOCS / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path, file=sys.stderr)
