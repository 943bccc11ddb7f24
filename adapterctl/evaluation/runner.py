"""`adapterctl eval`: run a version (and the base, once) on its adapter's eval set, store the
results beside the card, and judge the gates.

    evaluate(project, ["support"])  →  [VersionEval]

A version already evaluated under the same key (eval set md5, template, eval spec) is not
run again: its committed results are read back, so a second `eval` is instant. The base
model's results are cached the same way per (base weights, eval set, eval spec). The base
loads once per call, in full precision, and each version's LoRA is attached and removed in turn.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core import ui
from adapterctl.core.errors import DataError, IntegrityError, ManifestError, UsageError
from adapterctl.core.project import Project
from adapterctl.evaluation import bootstrap, gates, metrics, results
from adapterctl.store import environments, fingerprints, storage


@dataclass
class VersionEval:
    ref: str
    name: str
    id: str
    key: str
    rows: int
    metrics: dict[str, float]
    base_metrics: dict[str, float]
    vs_base: dict[str, bootstrap.Delta]
    gates: gates.GateReport
    gate_deltas: dict[str, bootstrap.Delta]  # metric → delta vs the reference its gate names
    results: str  # project-relative path of the per-row file
    cached: bool
    seconds: float
    passed: bool  # every gate passed (True when there are none)
    failed: list[str]
    notes: list[str] = field(default_factory=list)


class Models:
    """The base, loaded on first need and shared by every version evaluated in this call."""

    def __init__(self, project: Project, m: manifest.Manifest):
        self.project, self.m = project, m
        self.loaded: Any = None  # modeling.LoadedBase, once loaded
        self._base: versions.BaseInUse | None = None

    def admit(self, version: versions.Version) -> None:
        """Refuse a version trained on another base than the manifest's, or structurally broken."""
        if self._base is None:
            self._base = versions.manifest_base(self.project)  # fingerprinted once per eval call
        self._base.admit(version)

    @contextlib.contextmanager
    def use(self, version: versions.Version | None):
        from adapterctl import modeling
        from adapterctl.runtime.quiet import quiet

        if self.loaded is None:
            self.loaded = modeling.load_base(
                self.project, self.m.base, manifest.TrainSpec(quantization="none"), for_training=False
            )
            from adapterctl.runtime.threads import cpu_threads

            # Same policy as training: a small model on a CPU runs fastest on one thread
            # (measured 40x slower on two contended threads at load 12). Kept for the process.
            cpu_threads(self.loaded.info.device, self.loaded.model)
        if version is None:
            yield self.loaded.model, self.loaded.tokenizer
            return
        self.admit(version)
        with quiet():
            from peft import PeftModel

            model = PeftModel.from_pretrained(self.loaded.model, str(version.path), is_trainable=False).eval()
        try:
            yield model, self.loaded.tokenizer
        finally:
            self.loaded.model = model.unload()  # the plain base again, for the next version


@dataclass
class EvalSet:
    spec: manifest.AdapterSpec
    key: str
    base_key: str
    md5: str
    limit: int | None
    rows: list[dict[str, Any]]
    prompt: Any = None  # data.prompts.PromptFormat: the evaluated version's recorded format


def eval_set(project: Project, spec: manifest.AdapterSpec, limit: int | None, prompt: Any = None) -> EvalSet:
    """The eval rows, rendered through `prompt` (the version's recorded format) when given,
    else through the manifest's template."""
    from adapterctl.data import examples, prompts

    if not spec.eval_data:
        raise ManifestError(f"adapters.{spec.name}.eval_data is not set: name a held-out eval set to evaluate on")
    path = project.root / spec.eval_data
    if not path.is_file():
        raise DataError(f"{spec.eval_data}: eval set not found{storage.not_pulled_hint(path)}")
    cache = fingerprints.FileCache(project)
    try:
        md5 = cache.digest(path, "md5")
        m = manifest.load(project.manifest_path)
        base = fingerprints.base_fingerprint(project, m.base.model, m.base.revision, cache)
    finally:
        cache.save()
    limit = limit or spec.eval.limit
    template = versions.template_sha256(project, spec)
    if prompt is not None and prompt.kind == "template":
        template = hashlib.sha256(prompt.text.encode("utf-8")).hexdigest()
    fmt, rows = examples.render_file(project.root, spec.eval_data, spec.template, prompt)
    if prompt is None and fmt == "chat":
        prompt = prompts.PromptFormat("chat")
    rows = rows[:limit] if limit else rows
    return EvalSet(
        spec,
        results.eval_key(spec, md5, template, limit),
        results.eval_key(spec, md5, template, limit, base_hash=base["hash"] or base["model"]),
        md5,
        limit,
        rows,
        prompt,
    )


def check_budget(spec: manifest.AdapterSpec, context: int | None) -> None:
    """eval.max_new_tokens must leave room for a prompt in the base's context, or generation
    runs past what the model can read (and, on a long budget, for hours)."""
    budget = spec.eval.max_new_tokens
    if context is not None and budget >= context:
        raise ManifestError(
            f"adapterctl.toml: eval.max_new_tokens of '{spec.name}' is {budget}, but the base model reads at most "
            f"{context} tokens, prompt included; set it below {context} (e.g. [adapters.{spec.name}.eval] "
            f"max_new_tokens = {min(512, context // 2)})"
        )


def run_model(model, tokenizer, es: EvalSet, label: str) -> list[dict[str, Any]]:
    """Per-row records of one model on the eval set: texts, scores, completion loss."""
    from adapterctl.evaluation import generate as gen

    spec, rows = es.spec, es.rows
    wanted = spec.eval.metrics
    prompts = [gen.prompt_text(tokenizer, r["prompt"], es.prompt) for r in rows]
    references = [gen.completion_text(r["completion"]) for r in rows]
    labels = [r["row"].get(spec.eval.label_field) for r in rows]
    has_labels = any(x is not None for x in labels)
    outputs = [""] * len(rows)
    per_row: list[dict[str, Any]] = [{} for _ in rows]
    needs_loss = bool({"eval_loss", "perplexity"} & set(wanted))
    needs_text = bool(set(metrics.GENERATION) & set(wanted))
    if needs_text:
        check_budget(spec, gen.context_length(model))
    with ui.progress(len(rows) * (needs_text + needs_loss), f"eval {label}") as advance:
        if needs_text:
            outputs = gen.generate(
                model,
                tokenizer,
                prompts,
                max_new_tokens=spec.eval.max_new_tokens,
                batch_size=spec.eval.batch_size,
                max_length=spec.train.max_length,
                advance=advance,
            )
            stripped = [o.strip() for o in outputs]  # scored without edge whitespace; recorded as generated
            per_row = metrics.score_generations(stripped, references, labels if has_labels else None, wanted)
        if needs_loss:
            losses = gen.completion_losses(
                model,
                tokenizer,
                prompts,
                references,
                batch_size=spec.eval.batch_size,
                max_length=spec.train.max_length,
                advance=advance,
            )
            for record, loss in zip(per_row, losses, strict=True):
                record["loss"] = loss
    return [
        {"hash": results.row_hash(r["row"]), "prompt": p, "reference": ref, "output": out, **scores}
        for r, p, ref, out, scores in zip(rows, prompts, references, outputs, per_row, strict=True)
    ]


def _header(es: EvalSet, subject: str, rows: list[dict], seconds: float, extra: dict[str, float]) -> dict[str, Any]:
    return {
        "key": es.key if subject != "base" else es.base_key,
        "subject": subject,
        "name": es.spec.name,
        "eval_data": es.spec.eval_data,
        "eval_md5": es.md5,
        "limit": es.limit or 0,
        "max_new_tokens": es.spec.eval.max_new_tokens,
        "rows": len(rows),
        "created": environments.now(),
        "seconds": round(seconds, 2),
        "metrics": {**metrics.corpus(es.spec.eval.metrics, rows), **extra},
    }


def base_result(project: Project, es: EvalSet, models: Models) -> results.EvalResult:
    path = results.base_file(project, es.spec.name, es.base_key)
    cached = results.read(path)
    if cached is not None:
        return cached
    started = time.monotonic()
    with models.use(None) as (model, tokenizer):
        rows = run_model(model, tokenizer, es, "base")
    result = results.EvalResult(es.base_key, "base", _header(es, "base", rows, time.monotonic() - started, {}), rows)
    with versions.changing(project):  # the project lock, as every state change holds it
        results.write(path, result)
    return result


def version_result(
    project: Project, es: EvalSet, version: versions.Version, models: Models, *, force: bool = False
) -> tuple[versions.Version, results.EvalResult, bool]:
    """(version with its updated card, its result, whether it came from the cache)."""
    models.admit(version)  # a cached result is no answer for a version that may not run on this base
    path = results.version_file(project, version.name, version.id, es.key)
    cached = results.read(path) if es.key in (version.card.metrics.evals or {}) and not force else None
    if cached is not None:
        return version, cached, True
    started = time.monotonic()
    with models.use(version) as (model, tokenizer):
        rows = run_model(model, tokenizer, es, version.ref)
    extra = {}
    val = version.card.training.final_val_loss()
    if "val_loss" in es.spec.eval.metrics and val is not None:
        extra["val_loss"] = round(float(val), 6)
    result = results.EvalResult(
        es.key, version.id, _header(es, version.id, rows, time.monotonic() - started, extra), rows
    )
    refuse_nonfinite(version, result.metrics)
    entry = results.card_entry(result, project.relpath(path))
    entry["baseline"] = project.relpath(results.base_file(project, es.spec.name, es.base_key))
    with versions.changing(project):  # results and card together, under the project lock
        results.write(path, result)
        current = versions.read_card(version.card_path).metrics  # as it is now, not as read before the run
        evals = {k: v.to_dict() for k, v in (current.evals or {}).items()}
        scalars = {**current.scalars(), **result.metrics}
        updated = versions.record_metrics(project, version, {**scalars, "evals": {**evals, es.key: entry}})
    return updated, result, False


def refuse_nonfinite(version: versions.Version, scores: dict[str, Any]) -> None:
    """Raise IntegrityError when SCORES hold NaN (or an infinite loss): such numbers come from a
    broken model, not from a bad adapter that a gate should weigh, so nothing is recorded and no
    comparison calls them noise."""
    bad = [
        k
        for k, v in scores.items()
        if isinstance(v, float) and (math.isnan(v) or (math.isinf(v) and k in ("eval_loss", "val_loss")))
    ]
    if bad:
        listed = ", ".join(f"{k} = {scores[k]}" for k in bad)
        raise IntegrityError(
            f"{version.ref}: eval gave {listed}: the adapter on this base computes NaN or infinite values; "
            "nothing was recorded"
        )


def references(
    project: Project, es: EvalSet, version: versions.Version, models: Models, base: results.EvalResult
) -> dict[str, gates.Reference]:
    """Each reference the adapter's gates name, evaluated under the same key."""
    out: dict[str, gates.Reference] = {}
    envs = environments.load(project)
    for rule in gates.rules(es.spec.gates):
        if rule.ref is None or rule.ref in out:
            continue
        pointer = envs.get(rule.ref, {}).get(version.name) if rule.ref != gates.BASE else None
        if pointer is None or not pointer.version:
            note = "" if rule.ref == gates.BASE else f"{rule.ref} serves no {version.name} yet: compared with the base"
            out[rule.ref] = gates.Reference("base", base.metrics, base.rows, note)
            continue
        target = versions.resolve(project, f"{version.name}@{pointer.version}", verify=False)
        _, result, _ = version_result(project, es, target, models)
        out[rule.ref] = gates.Reference(f"{rule.ref} = {target.ref}", result.metrics, result.rows)
    return out


def evaluate_one(
    project: Project,
    m: manifest.Manifest,
    version: versions.Version,
    models: Models,
    *,
    limit: int | None = None,
    force: bool = False,
) -> VersionEval:
    started = time.monotonic()
    spec = m.adapter(version.name)
    from adapterctl.data import prompts

    if unknown := gates.unknown_references(m, version.name, set(environments.load(project))):
        raise unknown[0]  # before any generation: a mistyped environment must not pass as the base
    models.admit(version)  # before any model runs: refused versions cost nothing
    es = eval_set(project, spec, limit, prompts.for_version(project, version, notice=ui.info))
    base = base_result(project, es, models)
    version, result, cached = version_result(project, es, version, models, force=force)
    refs = references(project, es, version, models, base)
    report = gates.check(gates.rules(spec.gates), result.metrics, refs)
    notes = sorted({r.note for r in refs.values() if r.note})
    if spec.gates:
        version = versions.record_metrics(project, version, {}, gates=report.for_card(es.key, spec.gates))
    names = [n for n in spec.eval.metrics if n != "val_loss"]
    gate_deltas = {}
    for rule in gates.rules(spec.gates):
        ref = refs.get(rule.ref) if rule.ref else None
        if ref is not None and rule.metric in names:
            gate_deltas.update(bootstrap.deltas([rule.metric], ref.rows, result.rows))
    return VersionEval(
        ref=version.ref,
        name=version.name,
        id=version.id,
        key=es.key,
        rows=len(result.rows),
        metrics=result.metrics,
        base_metrics=base.metrics,
        vs_base=bootstrap.deltas(names, base.rows, result.rows),
        gates=report,
        gate_deltas=gate_deltas,
        results=project.relpath(results.version_file(project, version.name, version.id, es.key)),
        cached=cached,
        seconds=round(time.monotonic() - started, 2),
        passed=report.passed,
        failed=report.failed,
        notes=notes,
    )


def evaluate(
    project: Project, refs: list[str], *, all_adapters: bool = False, limit: int | None = None, force: bool = False
) -> list[VersionEval]:
    m = manifest.load(project.manifest_path)
    targets = list(refs)
    if all_adapters:
        targets += [n for n in m.adapter_names if versions.log(project, n) and n not in targets]
    chosen = [versions.resolve(project, ref, verify=False) for ref in dict.fromkeys(targets)]
    models = Models(project, m)
    return [evaluate_one(project, m, v, models, limit=limit, force=force) for v in chosen]


def export_sheet(project: Project, ref: str, path, *, limit: int | None = None) -> int:
    """Evaluate REF (cached when possible) and write the human-eval sheet; returns its rows."""
    from adapterctl.evaluation import sheets

    [e] = evaluate(project, [ref], limit=limit)
    version = versions.resolve(project, e.ref, verify=False)
    entry = (version.card.metrics.evals or {})[e.key]
    base = results.read(project.root / entry.baseline)
    ours = results.read(project.root / e.results)
    if ours is None:
        raise DataError(f"{e.results}: the eval results of {e.ref} are missing; run `adapterctl eval {e.ref} --force`")
    return sheets.export(path, ours, base, entry.eval_md5)


def import_sheet(project: Project, ref: str, path) -> dict[str, Any]:
    """Store the rating summary of a filled-in sheet in REF's card (metrics.human_eval)."""
    from adapterctl.evaluation import sheets

    version = versions.resolve(project, ref, verify=False)
    evals: dict[str, set[str]] = {}
    for entry in version.card.evals().values():
        found = results.read(project.root / entry.results)
        if found is not None:
            evals.setdefault(entry.eval_md5, set()).update(r["hash"] for r in found.rows)
    if not evals:
        raise UsageError(
            f"{version.ref} has no eval results to rate: run `adapterctl eval {version.ref}` and export a sheet"
        )
    summary = sheets.summarise(path, version.id, evals)
    versions.record_metrics(project, version, {"human_eval": summary})
    return summary
