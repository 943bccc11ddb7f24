"""`adapterctl diff REF_A REF_B`: everything that differs between two versions on this machine."""

from __future__ import annotations

from adapterctl import manifest, versions
from adapterctl.core.errors import AdapterctlError
from adapterctl.core.project import Project
from adapterctl.report import compare, data_diff, weights
from adapterctl.report.source import Source, latest_eval


def diff(project: Project, ref_a: str, ref_b: str) -> compare.Comparison:
    va = versions.resolve(project, ref_a, verify=False)
    vb = versions.resolve(project, ref_b, verify=False)
    source = Source(project)
    card_a, card_b = va.card, vb.card
    entry_b = latest_eval(card_b)
    key = entry_b["key"] if entry_b and latest_eval(card_a, entry_b["key"]) else None
    side_a = compare.Side(va.ref, card_a, source.result(card_a, key))
    side_b = compare.Side(vb.ref, card_b, source.result(card_b, key))
    c = compare.compare(vb.name, side_a, side_b, samples=_samples(project, vb.name))
    c.data_rows = data_diff.changes(project, c.data)
    try:
        versions.check_weights(va)
        versions.check_weights(vb)
        c.weights = weights.compare(va.path, vb.path)
    except AdapterctlError as exc:
        c.notes.append(f"weights not compared: {exc}")
    return c


def _samples(project: Project, name: str) -> int:
    try:
        return manifest.load(project.manifest_path).adapter(name).eval.samples
    except AdapterctlError:
        return 3
