"""Eval results on disk, in git beside the cards, so `report` needs no weights and no GPU.

    adapters/NAME/<id>.toml                    the card: [metrics] scalars, and under
                                               metrics.evals.<key> where the rows are
    adapters/NAME/<id>.eval-<key>.jsonl        one header line, then one line per eval row:
                                               prompt, reference, output, per-row scores
    adapters/NAME/base.eval-<key>.jsonl        the base model alone on the same eval set

The key covers what decides the numbers: the eval set's md5, the prompt template, the eval
spec's metrics, generation budget and row limit, and (for the base) the base weights. Rows
are identified by a hash of their content, so two result files pair up row by row even
after rows were added or removed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core.errors import IntegrityError
from adapterctl.core.project import Project, atomic_write
from adapterctl.manifest import AdapterSpec, canonical_json

SCHEMA = 1


def eval_key(
    spec: AdapterSpec, eval_md5: str, template_sha256: str, limit: int | None, base_hash: str | None = None
) -> str:
    material = {
        "eval_md5": eval_md5,
        "template_sha256": template_sha256,
        "metrics": sorted(spec.eval.metrics),
        "max_new_tokens": spec.eval.max_new_tokens,
        "label_field": spec.eval.label_field,
        "limit": limit,
        "max_length": spec.train.max_length,
        # 2: outputs recorded as generated (unstripped), comparable with a server's answers.
        "outputs": 2,
    }
    if base_hash is not None:
        material["base"] = base_hash
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()[:16]


def row_hash(row: dict[str, Any]) -> str:
    """Content hash of one data row (key order does not matter)."""
    return hashlib.sha256(canonical_json(row).encode()).hexdigest()[:16]


def version_file(project: Project, name: str, vid: str, key: str) -> Path:
    return project.adapter_dir(name) / f"{vid}.eval-{key}.jsonl"


def base_file(project: Project, name: str, key: str) -> Path:
    return project.adapter_dir(name) / f"base.eval-{key}.jsonl"


@dataclass
class EvalResult:
    """One model (a version, or the base) on one eval set under one eval spec."""

    key: str
    subject: str  # version id, or "base"
    header: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.header.get("metrics", {}))

    def by_hash(self) -> dict[str, dict[str, Any]]:
        return {r["hash"]: r for r in self.rows}


def write(path: Path, result: EvalResult) -> None:
    """Compact JSON lines: one per row, so a 10,000-row set stays a few MB and git packs it well."""
    lines = [json.dumps({"schema": SCHEMA, **result.header}, ensure_ascii=False, separators=(",", ":"))]
    lines += [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in result.rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, "\n".join(lines) + "\n")


def parse(text: str, label: str) -> EvalResult:
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        header = json.loads(lines[0])
        rows = [json.loads(line) for line in lines[1:]]
    except (IndexError, ValueError) as exc:
        raise IntegrityError(f"{label}: not an eval results file ({exc})") from None
    return EvalResult(header.get("key", ""), header.get("subject", ""), header, rows)


def read(path: Path) -> EvalResult | None:
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), str(path))


def card_entry(result: EvalResult, results_path: str) -> dict[str, Any]:
    """What the card records about one eval: small, whatever the row count."""
    h = result.header
    return {
        "eval_data": h.get("eval_data", ""),
        "eval_md5": h.get("eval_md5", ""),
        "rows": len(result.rows),
        "limit": h.get("limit", 0) or 0,
        "max_new_tokens": h.get("max_new_tokens"),
        "created": h.get("created", ""),
        "seconds": h.get("seconds"),
        "results": results_path,
        "metrics": result.metrics,
    }
