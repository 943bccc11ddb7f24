"""`data fix NAME OUT`: a cleaned copy of an adapter's data files, and a record of every change.

Rows that training cannot use are dropped (schema); text is cleaned (markup stripped,
entities decoded, log lines removed, encoding repaired, control characters removed); then
exact and near-duplicates are dropped, keeping the first of each group, and training rows
that leak into a held-out file are dropped from the training file. Contradictions, long
rows, personal data, style and tags need a person's judgement and are left as they are.
Checks set to "off" change nothing. The input files are never written: OUT (a new or empty
folder, see fix_output) mirrors their project-relative paths (as JSONL), and OUT/fixes.jsonl
lists each change with its input line; all of it appears at once or not at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project, atomic_write
from adapterctl.data.hygiene import checker, debris, duplicates, fix_output, rows, schema, texts
from adapterctl.data.hygiene.problems import OFF
from adapterctl.manifest import AdapterSpec
from adapterctl.versions.register import changing

REPORT = "fixes.jsonl"


@dataclass
class Change:
    file: str  # the input file, project-relative
    line: int  # the row's line in the input file
    action: str  # dropped | edited
    check: str
    detail: str


@dataclass
class FixedFile:
    source: str
    written: Path
    rows_in: int
    rows_out: int
    dropped: int
    edited: int


@dataclass
class FixResult:
    adapter: str
    out: Path
    report: Path
    files: list[FixedFile] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def fix(project: Project, spec: AdapterSpec, out: Path) -> FixResult:
    settings = spec.data_checks
    on = {c: settings.severity(c) != OFF for c in ("duplicate", "near_duplicate", "leakage", "near_leakage", "debris")}
    if not spec.data:
        raise UsageError(f"'{spec.name}' combines other adapters and has no data of its own to fix")
    checker.refuse_outside(project, spec)
    files = checker.data_files(spec)
    # The one lock path (what every state change takes): OUT is checked and written under it.
    with changing(project):
        out = fix_output.checked(project, out, [project.root / rel for _, rel in files])
        with fix_output.staged(out) as staging:
            result = _fix(project, spec, files, on, staging)
    # The files now lie in OUT: name them there.
    result.out, result.report = out, out / REPORT
    for f in result.files:
        f.written = out / f.written.relative_to(staging)
    return result


def _fix(
    project: Project, spec: AdapterSpec, files: list[tuple[str, str]], on: dict[str, bool], out: Path
) -> FixResult:
    settings = spec.data_checks
    targets = {rel: (out / rel).with_suffix(".jsonl") for _, rel in files}
    result = FixResult(spec.name, out, out / REPORT)
    cleaned: dict[str, rows.DataFile] = {}
    for role, rel in files:
        data = rows.read(project.root / rel, rel, role, spec.data_checks.max_row_bytes)
        template = schema.detect(data, project.root, spec.template)
        cleaned[rel] = _clean(data, template, on, result.changes)

    def view(rel: str) -> texts.Texts:
        return texts.of(cleaned[rel], set(), rows.tag_field_of(cleaned[rel].columns, settings.tag_field))

    threshold = settings.near_duplicate_threshold
    if on["duplicate"] or on["near_duplicate"]:
        for _, rel in files:
            within, _ = duplicates.within(view(rel), threshold, on["near_duplicate"])
            _drop(cleaned[rel], {p.line: p for p in reversed(within) if on[p.check]}, result.changes)
    if on["leakage"] or on["near_leakage"]:
        train_rel = files[0][1]
        train = view(train_rel)
        index = duplicates.within(train, threshold, True)[1] if on["near_leakage"] else None
        leaks = {}
        for _, rel in files[1:]:
            leaks.update({p.line: p for p in reversed(duplicates.leakage(train, view(rel), index)) if on[p.check]})
        _drop(cleaned[train_rel], leaks, result.changes)
    for _, rel in files:
        result.files.append(_write(cleaned[rel], targets[rel], result.changes))
    result.changes.sort(key=lambda c: ([r for _, r in files].index(c.file), c.line))
    atomic_write(result.report, "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in result.changes))
    return result


def _clean(data: rows.DataFile, template, on: dict[str, bool], changes: list[Change]) -> rows.DataFile:
    """Unusable rows dropped, the text of the others cleaned; each change recorded."""
    for p in data.unreadable:
        changes.append(Change(data.label, p.line, "dropped", "schema", p.message))
    kept = []
    for row in data.rows:
        if on["debris"]:
            found = sorted({kind for path, text in rows.strings(row.data) for kind, _ in debris.find(text)})
            new = rows.map_strings(row.data, debris.clean) if found else row.data
            if new != row.data:
                changes.append(Change(data.label, row.line, "edited", "debris", f"cleaned {', '.join(found)}"))
                row = rows.Row(row.line, new)
        probe = rows.DataFile(data.role, data.label, data.path, data.unit, [row], format=data.format)
        problems, _ = schema.check(probe, template)
        if problems:
            changes.append(Change(data.label, row.line, "dropped", "schema", problems[0].message))
        else:
            kept.append(row)
    data.rows = kept
    data.unreadable = []
    return data


def _drop(data: rows.DataFile, drop: dict[int, Any], changes: list[Change]) -> None:
    if not drop:
        return
    for line, problem in sorted(drop.items()):
        changes.append(Change(data.label, line, "dropped", problem.check, problem.message))
    data.rows = [r for r in data.rows if r.line not in drop]


def _write(data: rows.DataFile, target: Path, changes: list[Change]) -> FixedFile:
    mine = [c for c in changes if c.file == data.label]
    dropped = {c.line for c in mine if c.action == "dropped"}
    edited = {c.line for c in mine if c.action == "edited"} - dropped
    atomic_write(target, "".join(json.dumps(r.data, ensure_ascii=False) + "\n" for r in data.rows))
    return FixedFile(data.label, target, len(data.rows) + len(dropped), len(data.rows), len(dropped), len(edited))
