"""Reading `adapterctl.toml`: TOML, then every table checked against the schema, with errors
that name the file, line and key path, and a did-you-mean for unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

from adapterctl.core.errors import ManifestError
from adapterctl.core.refs import ENV_NAME
from adapterctl.core.tomlread import tomllib
from adapterctl.manifest.keypaths import _Ctx, _did_you_mean, _toml_error_line
from adapterctl.manifest.model import DENSITY_METHODS, Manifest
from adapterctl.manifest.schema import (
    ADAPTER_NAME,
    EVAL_METRICS,
    GATE,
    OVERRIDABLE,
    TOP_LEVEL,
    AdapterSection,
    BaseSection,
    DataCheckSpec,
    Defaults,
    EnvironmentSection,
    ProjectSection,
)


def load(path: Path) -> Manifest:
    """Parse and validate the manifest at `path`; raise ManifestError with a key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path.name}:{_toml_error_line(exc)}: invalid TOML: {exc}") from None
    return from_dict(doc, path, text)


class _Problems:
    """Collects ManifestErrors so that one load reports every problem, not just the first."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def attempt(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)`, or None after recording the ManifestError it raised."""
        try:
            return fn(*args)
        except ManifestError as exc:
            self.lines.extend(exc.problems)
            return None

    def raise_any(self) -> None:
        if self.lines:
            raise ManifestError(self.lines[0], self.lines)


def from_dict(doc: dict[str, Any], path: Path, text: str = "") -> Manifest:
    ctx = _Ctx(path, text)
    problems = _Problems()
    for key in doc:
        if key not in TOP_LEVEL:
            problems.lines.append(str(ctx.error(key, f"unknown table{_did_you_mean(key, TOP_LEVEL)}")))
    if "base" not in doc:
        problems.lines.append(str(ctx.error("base", "missing table [base] (it names the base model)")))
    project = problems.attempt(ctx.validate, ProjectSection, doc.get("project", {}), "project")
    base = problems.attempt(ctx.validate, BaseSection, doc["base"], "base") if "base" in doc else None
    defaults = problems.attempt(ctx.validate, Defaults, doc.get("defaults", {}), "defaults")
    adapters_raw = doc.get("adapters", {})
    if not isinstance(adapters_raw, dict):
        problems.lines.append(str(ctx.error("adapters", "must be a table of [adapters.NAME] tables")))
        adapters_raw = {}
    adapters: dict[str, AdapterSection] = {}
    for name, table in adapters_raw.items():
        section = problems.attempt(_adapter_section, name, table, ctx)
        if section is not None:
            adapters[name] = section
    for name, section in adapters.items():
        problems.attempt(_check_combination, name, section, adapters, ctx, set(adapters_raw))
    envs_raw = doc.get("environments", {})
    envs = {}
    if not isinstance(envs_raw, dict) or not all(isinstance(t, dict) for t in envs_raw.values()):
        problems.lines.append(str(ctx.error("environments", "must be a table of [environments.NAME] tables")))
    else:
        for env, table in envs_raw.items():
            envs[env] = problems.attempt(ctx.validate, EnvironmentSection, table, f"environments.{env}")
    if project is None or base is None or defaults is None or None in envs.values():
        problems.raise_any()
    assert project is not None and base is not None and defaults is not None  # each None recorded a problem
    manifest = Manifest(path, text, project, base, defaults, adapters, envs)
    for name in adapters:  # validates each merged spec, naming the key path on error
        problems.attempt(manifest.adapter, name)
    problems.raise_any()
    return manifest


def _adapter_section(name: str, table: Any, ctx: _Ctx) -> AdapterSection:
    check_adapter_name(name, ctx)
    where = f"adapters.{name}"
    if not isinstance(table, dict):
        raise ctx.error(where, "must be a table")
    section: AdapterSection = ctx.validate(AdapterSection, table, where)
    problems = _Problems()
    for sub, model in OVERRIDABLE.items():
        for key in getattr(section, sub):
            if key not in model.model_fields:
                problems.lines.append(
                    str(ctx.error(f"{where}.{sub}.{key}", f"unknown key{_did_you_mean(key, model.model_fields)}"))
                )
    data_keys = {f.alias or k for k, f in DataCheckSpec.model_fields.items()}
    for key in section.data_checks:
        if key not in data_keys:
            problems.lines.append(
                str(ctx.error(f"{where}.data_checks.{key}", f"unknown key{_did_you_mean(key, data_keys)}"))
            )
    for metric, rule in section.gates.items():
        if metric not in get_args(EVAL_METRICS):
            problems.lines.append(
                str(
                    ctx.error(
                        f"{where}.gates.{metric}", f"unknown metric{_did_you_mean(metric, get_args(EVAL_METRICS))}"
                    )
                )
            )
        elif not isinstance(rule, str) or not (match := GATE.match(rule)):
            problems.lines.append(
                str(
                    ctx.error(
                        f"{where}.gates.{metric}",
                        f'{rule!r}: write a gate as "OP NUMBER" or '
                        '"OP REF [+|- NUMBER]" (OP one of >= <= > <; REF base or an environment, e.g. prod)',
                    )
                )
            )
        elif problem := _gate_number_problem(match, rule):
            problems.lines.append(str(ctx.error(f"{where}.gates.{metric}", problem)))
    problems.raise_any()
    return section


def _gate_number_problem(match: Any, rule: str) -> str | None:
    """A gate's numbers must be finite, and `nan`/`inf` are not environment names."""
    import math

    ref = match["ref"]
    if ref is not None and ref.lower() in ("nan", "inf", "infinity"):
        return f"{rule!r}: {ref} is not a finite number (nor an environment); write a number such as 0.2"
    for number in (match["number"], match["offset"]):
        if number is not None and not math.isfinite(float(number)):
            return f"{rule!r}: {number} is not a finite number"
    if ref is not None and ref != "base" and not ENV_NAME.match(ref):
        return f"{rule!r}: {ref} is not an environment name (a letter, then letters, digits, '-', '_')"
    return None


def _check_combination(
    name: str, section: AdapterSection, adapters: dict[str, AdapterSection], ctx: _Ctx, declared: set[str]
) -> None:
    """A trained adapter has `data`; a combination has `combine` (of trained adapters) instead."""
    where = f"adapters.{name}"
    if section.combine is None:
        if section.data is None:
            raise ctx.error(f"{where}.data", "required key is missing (or declare a combination with `combine`)")
        extra = [k for k in ("method", "weights", "density") if getattr(section, k) is not None]
        if extra:
            raise ctx.error(f"{where}.{extra[0]}", "only applies to a combination (set `combine` too)")
        return
    if section.data is not None:
        raise ctx.error(f"{where}.combine", "an adapter is trained on `data` or combines others, not both")
    if len(section.combine) < 2 or len(set(section.combine)) != len(section.combine):
        raise ctx.error(f"{where}.combine", "name at least two different adapters")
    for other in section.combine:
        if other in declared and other not in adapters:
            continue  # its own table is broken: that error is reported already
        if other not in adapters:
            raise ctx.error(f"{where}.combine", f"no adapter named '{other}'{_did_you_mean(other, adapters)}")
        if adapters[other].combine is not None:
            raise ctx.error(f"{where}.combine", f"'{other}' is itself a combination; combine trained adapters")
    if section.weights is not None and len(section.weights) != len(section.combine):
        raise ctx.error(f"{where}.weights", f"give one weight per combine input ({len(section.combine)})")
    if section.density is not None and (section.method or "linear") not in DENSITY_METHODS:
        raise ctx.error(f"{where}.density", f"only applies to the methods {', '.join(DENSITY_METHODS)}")


def check_adapter_name(name: str, ctx: _Ctx | None = None) -> None:
    if not ADAPTER_NAME.match(name):
        message = (
            f"invalid adapter name {name!r}: use letters, digits, '-' and '_', "
            "start with a letter or digit, at most 64 characters"
        )
        raise ctx.error(f"adapters.{json.dumps(name)}", message) if ctx else ManifestError(message)
