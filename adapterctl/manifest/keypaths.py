"""Errors located in the manifest: the file, the line where a key is set, the key path, and a
did-you-mean for unknown keys (pydantic's errors turned into one line each)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapterctl.core.errors import ManifestError
from adapterctl.core.suggest import closest
from adapterctl.manifest.schema import (
    AdapterSection,
    BaseSection,
    DataCheckSpec,
    Defaults,
    EvalSpec,
    LoraSpec,
    ProjectSection,
    Section,
    TrainSpec,
)


def _did_you_mean(word: str, choices: Any) -> str:
    close = closest(word, choices, cutoff=0.4)
    return f" (did you mean '{close}'?)" if close else ""


def _toml_error_line(exc: Exception) -> str:
    lineno = getattr(exc, "lineno", None)
    if lineno is None:
        m = re.search(r"line (\d+)", str(exc))
        lineno = m.group(1) if m else "?"
    return str(lineno)


def _as_manifest_error(exc: ValidationError, where: str, manifest: Any) -> ManifestError:
    return _Ctx(manifest.path, manifest.text).from_validation(exc, where)


class _Ctx:
    """Turns validation failures into one-line errors with the file, line and key path."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.text = text

    def error(self, key_path: str, message: str) -> ManifestError:
        return ManifestError(f"{self.path.name}{self.line_of(key_path)}: {key_path}: {message}")

    def validate(self, model: type[Section], data: Any, where: str) -> Any:
        if not isinstance(data, dict):
            raise self.error(where, "must be a table")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.from_validation(exc, where) from None

    def from_validation(self, exc: ValidationError, where: str) -> ManifestError:
        """Every problem pydantic found, one line each (a union's branches count once)."""
        lines: dict[str, str] = {}  # key path → its line: a union's branches each fail; the first says it
        for error in exc.errors():
            loc = [str(p) for p in error["loc"] if not isinstance(p, int)]
            # Literal/union errors carry the branch name in loc; keep the first key only.
            fields = _field_prefix(loc)
            key_path = ".".join([where, *fields]) if fields else where
            if error["type"] == "extra_forbidden":
                model_fields = _fields_at(exc, fields[:-1])
                message = f"unknown key{_did_you_mean(fields[-1], model_fields)}"
            elif error["type"] == "missing":
                message = "required key is missing"
            else:
                message = f"{_clean(error['msg'])}, got {error.get('input')!r}"
            lines.setdefault(key_path, str(self.error(key_path, message)))
        problems = list(lines.values())
        return ManifestError(problems[0], problems)

    def line_of(self, key_path: str) -> str:
        """':LINE' where key_path is set in the file, best effort; '' when not found."""
        if not self.text:
            return ""
        wanted = key_path.replace('"', "").split(".")
        table: list[str] = []
        best = ""
        for number, line in enumerate(self.text.splitlines(), start=1):
            stripped = line.split("#", 1)[0].strip()
            header = re.match(r"^\[+\s*([^\]]+?)\s*\]+$", stripped)
            if header:
                table = [p.strip().strip('"') for p in header.group(1).split(".")]
                if table == wanted[: len(table)] and len(table) == len(wanted):
                    best = f":{number}"
                continue
            assign = re.match(r"^([A-Za-z0-9_.\"'-]+)\s*=", stripped)
            if assign:
                full = table + [p.strip().strip('"') for p in assign.group(1).split(".")]
                if full == wanted[: len(full)] and full:
                    return f":{number}"
        return best


def _field_prefix(loc: list[str]) -> list[str]:
    out = []
    for part in loc:
        if part.startswith(("literal[", "list[", "function-")) or part in {"str", "int", "float", "bool"}:
            break
        out.append(part)
    return out


def _fields_at(exc: ValidationError, path: list[str]) -> list[str]:
    model: Any = _MODELS_BY_TITLE.get(exc.title)
    for part in path:
        if model is None:
            return []
        info = model.model_fields.get(part)
        model = info.annotation if info and isinstance(info.annotation, type) else None
    return list(model.model_fields) if model is not None and hasattr(model, "model_fields") else []


def _clean(msg: str) -> str:
    return msg[0].lower() + msg[1:] if msg else msg


_MODELS_BY_TITLE: dict[str, type[Section]] = {
    m.__name__: m
    for m in (ProjectSection, BaseSection, LoraSpec, TrainSpec, EvalSpec, Defaults, AdapterSection, DataCheckSpec)
}
