"""Running every check on an adapter's data files: the report `data check` prints and the
gate `train` passes first.

Files: the training file (`data`) and the held-out ones (`val_data`, `eval_data`); every
within-file check runs on each, leakage between training and each held-out file. A report
is cached in .adapterctl/data-check/NAME.json under a key made of the files' md5 (through
the project's file-facts cache, so an unchanged file is not even re-read), the check
settings, the template and the tokenizer: an unchanged dataset costs nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from adapterctl.core.errors import DataError, UsageError
from adapterctl.core.project import Project, atomic_write, leads_outside, outside_message
from adapterctl.data.hygiene import contradictions, debris, duplicates, length, pii, rows, schema, style, tags, texts
from adapterctl.data.hygiene.problems import CHECKS, ERROR, OFF, WARNING, Problem
from adapterctl.manifest import AdapterSpec, BaseSection, DataCheckSpec
from adapterctl.store import fingerprints

# Bump when a check changes what it finds: cached reports from older code are then ignored.
CHECKS_VERSION = 2
ROLES = (("train", "data"), ("val", "val_data"), ("eval", "eval_data"))


@dataclass
class Report:
    adapter: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    cached: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def to_json(self) -> dict[str, Any]:
        return {"problems": [p.to_dict() for p in self.problems], "summary": self.summary}


def data_files(spec: AdapterSpec) -> list[tuple[str, str]]:
    """(role, project-relative path) of each data file the spec names, training first."""
    seen: dict[str, str] = {}
    for role, key in ROLES:
        rel = getattr(spec, key)
        if rel and rel not in seen:
            seen[rel] = role
    return [(role, rel) for rel, role in seen.items()]


def refuse_outside(project: Project, spec: AdapterSpec) -> None:
    """The rule `validate` applies: no data file may lead outside the project (a symlink to
    /etc/passwd is refused here just as there), so nothing outside is read or echoed."""
    for _, key in ROLES:
        rel = getattr(spec, key)
        if rel and (real := leads_outside(project.root, rel)) is not None:
            raise DataError(f"adapterctl.toml: adapters.{spec.name}.{key}: {outside_message(rel, real)}")


def check(
    project: Project, spec: AdapterSpec, base: BaseSection, *, use_cache: bool = True, require_heldout: bool = True
) -> Report:
    """The report of every check on the spec's data files. Without `require_heldout`, a
    held-out file missing here (DVC-tracked, not pulled) is left out and named in the summary
    under `not_checked` instead of being an error: training does not read it."""
    settings = spec.data_checks
    if not spec.data:
        raise UsageError(
            f"'{spec.name}' combines other adapters and has no data of its own; "
            "check the data of the adapters it combines"
        )
    refuse_outside(project, spec)
    files = data_files(spec)
    missing = (
        []
        if require_heldout
        else [rel for role, rel in files if role != "train" and not (project.root / rel).is_file()]
    )
    files = [(role, rel) for role, rel in files if rel not in missing]
    cache = fingerprints.FileCache(project)
    try:
        for _, rel in files:
            rows.read_guard(project.root / rel, rel)
        key = _cache_key(project, spec, base, files, cache)
    finally:
        cache.save()
    cache_path = project.state_dir / "data-check" / f"{spec.name}.json"
    if use_cache:
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
            stored = json.loads(cache_path.read_text())
            if stored["key"] == key:
                return Report(spec.name, [Problem(**p) for p in stored["problems"]], stored["summary"], cached=True)
    report = _run(project, spec, base, files, settings)
    if missing:
        report.summary["not_checked"] = missing
    atomic_write(
        cache_path,
        json.dumps({"key": key, "problems": [p.to_dict() for p in report.problems], "summary": report.summary}),
    )
    return report


def _run(
    project: Project, spec: AdapterSpec, base: BaseSection, files: list[tuple[str, str]], settings: DataCheckSpec
) -> Report:
    on = {c: settings.severity(c) != OFF for c in CHECKS}
    found: list[Problem] = []
    summary: dict[str, Any] = {"adapter": spec.name, "files": {}, "length": {}, "tags": {}}
    tokenizer, why_not = (None, None)
    if on["length"]:
        tokenizer, why_not = length.load_tokenizer(project, base)
        if why_not:
            summary["length"] = {"skipped": why_not}
    train_texts, train_index = None, None
    for role, rel in files:
        data = rows.read(project.root / rel, rel, role, spec.data_checks.max_row_bytes)
        template = schema.detect(data, project.root, spec.template)
        bad, invalid = schema.check(data, template)
        found += data.unreadable + bad
        tag_field = rows.tag_field_of(data.columns, settings.tag_field)
        view = texts.of(data, invalid, tag_field)
        near = on["near_duplicate"] or (role == "train" and on["near_leakage"])
        if on["duplicate"] or near:
            within, index = duplicates.within(view, settings.near_duplicate_threshold, near)
            found += [p for p in within if on[p.check]]
        else:
            index = None
        if role == "train":
            train_texts, train_index = view, (index if on["near_leakage"] else None)
        elif train_texts is not None and (on["leakage"] or on["near_leakage"]):
            found += [p for p in duplicates.leakage(train_texts, view, train_index) if on[p.check]]
        if on["contradiction"]:
            found += contradictions.check(view)
        if on["debris"]:
            found += debris.check(data, invalid)
        if on["pii"]:
            found += pii.check(data, invalid)
        if on["style"]:
            found += style.check(view, settings.style_outlier)
        if on["tags"]:
            problems, counts = tags.check(data, invalid, tag_field)
            found += problems
            if counts:
                summary["tags"][rel] = counts
        if tokenizer is not None:
            problems, hist = length.check(data, invalid, template, tokenizer, spec.train.max_length)
            found += problems
            if hist:
                summary["length"][rel] = hist
        summary["files"][rel] = {
            "role": role,
            "format": data.format,
            "rows": len(data.rows) + sum(p.message != schema.NO_ROWS for p in data.unreadable),
            "valid": len(view),
        }
    for p in found:
        p.severity = settings.severity(p.check)
    order = {c: i for i, c in enumerate(CHECKS)}
    file_order = {rel: i for i, (_, rel) in enumerate(files)}
    found.sort(key=lambda p: (order[p.check], file_order.get(p.file, 99), p.line))
    summary.update(_counts(found, settings))
    return Report(spec.name, found, summary)


def _counts(found: list[Problem], settings: DataCheckSpec) -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {c: {"severity": settings.severity(c), "problems": 0} for c in CHECKS}
    for p in found:
        checks[p.check]["problems"] += 1
    errors = sum(p.severity == ERROR for p in found)
    return {
        "errors": errors,
        "warnings": sum(p.severity == WARNING for p in found),
        "passed": errors == 0,
        "checks": checks,
    }


def _cache_key(
    project: Project, spec: AdapterSpec, base: BaseSection, files: list[tuple[str, str]], cache: fingerprints.FileCache
) -> str:
    material: dict[str, Any] = {
        "version": CHECKS_VERSION,
        "files": [(role, rel, cache.digest(project.root / rel, "md5")) for role, rel in files],
        "settings": spec.data_checks.model_dump(by_alias=True),
        "template": spec.template,
        "template_md5": cache.digest(project.root / spec.template, "md5")
        if spec.template and (project.root / spec.template).is_file()
        else None,
    }
    if spec.data_checks.length != OFF:
        material["max_length"] = spec.train.max_length
        material["base"] = (base.model, base.revision)
        folder = project.root / base.model
        if folder.is_dir():
            material["tokenizer"] = sorted(
                (p.name, cache.digest(p, "md5")) for p in folder.iterdir() if p.name in fingerprints.TOKENIZER_FILES
            )
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
