"""The Python API: one function per command, the project first.

The CLI only parses arguments, calls these, and renders what they return. Functions here
import nothing heavy at module level: `list`, `show`, `validate` never load torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapterctl import manifest
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project, find_project
from adapterctl.ops import scaffold
from adapterctl.ops.adopt import ImportResult as ImportResult
from adapterctl.ops.scaffold import InitResult as InitResult
from adapterctl.views import AdapterSummary as AdapterSummary
from adapterctl.views import EnvironmentEntry as EnvironmentEntry
from adapterctl.views import LogEntry as LogEntry
from adapterctl.views import SpecView as SpecView
from adapterctl.views import ValidationReport as ValidationReport
from adapterctl.views import VersionView as VersionView

if TYPE_CHECKING:  # result types live with the modules that produce them
    from adapterctl.data.hygiene.checker import Report as DataReport
    from adapterctl.data.hygiene.fix import FixResult
    from adapterctl.evaluation.runner import VersionEval
    from adapterctl.merge.combine import CombineResult
    from adapterctl.merge.export import ExportResult
    from adapterctl.merge.merger import MergeResult
    from adapterctl.ops.deploy import MoveResult
    from adapterctl.ops.gc import GcResult
    from adapterctl.ops.transfer import TransferResult
    from adapterctl.report.compare import Comparison
    from adapterctl.report.pr import CheckProblem, Report
    from adapterctl.serve.vllm import SyncReport
    from adapterctl.status import AdapterStatus
    from adapterctl.train.results import SweepResult, TrainResult

# Read-only commands (list, show, validate, log, envs) live in views.py. They are part of this
# face: api.log, api.show_spec, ... as before.
# Serving, live checks and the dashboard: their own module, part of this face.
from adapterctl.api_serving import eval_results as eval_results  # noqa: E402
from adapterctl.api_serving import generate as generate  # noqa: E402
from adapterctl.api_serving import metric_intervals as metric_intervals  # noqa: E402
from adapterctl.api_serving import serve as serve  # noqa: E402
from adapterctl.api_serving import sync as sync  # noqa: E402
from adapterctl.api_serving import ui as ui  # noqa: E402
from adapterctl.api_serving import verify as verify  # noqa: E402
from adapterctl.views import environments as environments
from adapterctl.views import list_adapters as list_adapters
from adapterctl.views import load_manifest as load_manifest
from adapterctl.views import log as log
from adapterctl.views import show_spec as show_spec
from adapterctl.views import show_version as show_version
from adapterctl.views import validate as validate


def open_project(path: Path | str | None = None) -> Project:
    return find_project(path)


@dataclass
class ResolvedVersion:
    """What `resolve` answers: the verified local folder of a version."""

    ref: str
    name: str
    id: str
    path: Path


# ── init (see ops/scaffold.py) ──


def init(
    directory: Path | str = ".",
    *,
    example: bool = False,
    base: str | None = None,
    remote: str | None = None,
    ci_requirement: str | None = None,
) -> InitResult:
    """Scaffold a project: git (if none), DVC, manifest, prompt template, .gitignore, CI workflow."""
    return scaffold.init(directory, example=example, base=base, remote=remote, ci_requirement=ci_requirement)


# ── manifest commands ─────────────────────────────────────────────────────────


def add_adapter(
    project: Project,
    name: str,
    *,
    data: str,
    eval_data: str | None = None,
    template: str | None = None,
    description: str = "",
) -> manifest.AdapterSpec:
    """Add [adapters.NAME] to the manifest, keeping the user's comments and formatting."""
    from adapterctl.ops.add import add_adapter as add_op

    return add_op(project, name, data=data, eval_data=eval_data, template=template, description=description)


# ── versions: log, status, show, environments, transfer ──
#
# The store is versions/ (cards, resolve, log, register, import), versions/registry.py (cards and
# environment pointers read once per command), ops/ (deploy, rollback, push/pull, gc) and
# status.py (stale or up to date); these wrappers shape results for the CLI. None imports torch.


def status(project: Project, names: list[str] | None = None) -> list[AdapterStatus]:
    """Per adapter: up to date, stale (with reasons) or never trained."""
    from adapterctl import status as stale

    return stale.status(project, names)


def deploy(project: Project, ref: str, env: str, *, message: str = "", ignore_gates: bool = False) -> MoveResult:
    """Point environment ENV at the version REF names (verified first)."""
    from adapterctl.ops.deploy import deploy as deploy_op

    result = deploy_op(project, ref, env, message=message, force=ignore_gates)
    result.sync = _sync_if_server(project, env)
    return result


def rollback(project: Project, name: str, env: str, *, to: str | None = None, message: str = "") -> MoveResult:
    """Move ENV's pointer for NAME back to its previous target, or to the version `to` names."""
    from adapterctl.ops.rollback import rollback as rollback_op

    result = rollback_op(project, name, env, to=to, message=message)
    result.sync = _sync_if_server(project, env)
    return result


def resolve(project: Project, ref: str, *, pull: bool = False) -> ResolvedVersion:
    """The local folder of the verified version REF names (fetched from the remote with `pull`)."""
    from adapterctl.ops import transfer

    v = transfer.local_path(project, ref, pull=pull)
    return ResolvedVersion(v.ref, v.name, v.id, v.path)


def push(project: Project, ref: str | None = None, *, jobs: int | None = None) -> TransferResult:
    """Upload a version's weights to the DVC remote, or everything DVC tracks (`jobs` parallel transfers)."""
    from adapterctl.ops import transfer

    return transfer.push(project, ref, jobs=jobs)


def pull(project: Project, ref: str | None = None, *, jobs: int | None = None) -> TransferResult:
    """Fetch a version (only that one) or everything DVC tracks; verify what arrives."""
    from adapterctl.ops import transfer

    return transfer.pull(project, ref, jobs=jobs)


def import_adapter(
    project: Project, name: str, path: Path | str, *, message: str = "", any_base: bool = False
) -> ImportResult:
    """Adopt an existing PEFT adapter folder as a version of NAME."""
    from adapterctl.ops import adopt

    return adopt.import_adapter(project, name, Path(path), message=message, any_base=any_base)


def gc(project: Project, *, keep_last: int = 3, delete: bool = False) -> GcResult:
    """Drop local copies of versions no environment and no recent log entry needs (a dry run unless `delete`)."""
    from adapterctl.ops import gc as gc_op

    return gc_op.gc(project, keep_last=keep_last, force=delete)


# ── training: train, sweep (see train/) ──
#
# The how-to-run keywords (progress, launcher, allow_data_errors) become one RunOptions here,
# once; ops/train.py and train/runner.py run the jobs (in this process or under accelerate) and
# register what they produce. Nothing imports torch until a job runs.


def train(
    project: Project,
    names: list[str] | tuple[str, ...] = (),
    *,
    overrides: list[str] | None = None,
    resume: bool = False,
    all_stale: bool = False,
    launcher: str | None = None,
    num_processes: int | None = None,
    accelerate_config: str | None = None,
    progress: str = "auto",
    message: str = "",
    evaluate: bool = False,
    allow_data_errors: bool = False,
) -> list[TrainResult]:
    """Train adapters NAME… into new versions (ops/train.py). progress: auto, rich, plain, json
    or none; `allow_data_errors` trains data that `data check` finds errors in (the card records it)."""
    from adapterctl.ops import train as training
    from adapterctl.train.options import RunOptions

    options = RunOptions.build(
        progress=progress,
        launcher=launcher,
        num_processes=num_processes,
        accelerate_config=accelerate_config,
        allow_data_errors=allow_data_errors,
    )
    return training.train(
        project,
        names,
        overrides=overrides,
        resume=resume,
        all_stale=all_stale,
        options=options,
        message=message,
        evaluate=evaluate,
    )


def sweep(
    project: Project,
    name: str,
    grid: list[str],
    *,
    overrides: list[str] | None = None,
    progress: str = "auto",
    message: str = "",
) -> SweepResult:
    """Train every combination of the grid's values as a candidate version of NAME, ranked by
    val loss; the best is registered last, so it becomes the latest version (train/sweep.py)."""
    from adapterctl.ops import combine as combining
    from adapterctl.train import sweep as sweeps
    from adapterctl.train.options import RunOptions

    options = RunOptions.build(progress=progress)
    combining.combinations(project, [name], overrides=True, resume=False)  # a combination cannot be swept
    return sweeps.run(project, name, grid, overrides=list(overrides or []), options=options, message=message)


# ── evaluation: eval, diff, report, check (see evaluation/, report/) ──


def evaluate(
    project: Project, refs: list[str], *, all_adapters: bool = False, limit: int | None = None, rerun: bool = False
) -> list[VersionEval]:
    """Evaluate versions on their adapter's eval set (and the base, once), record metrics and
    gates in their cards (`rerun`: ignore the stored results); returns one
    evaluation.runner.VersionEval per version."""
    from adapterctl.evaluation import runner

    if not refs and not all_adapters:
        raise UsageError("name at least one version to evaluate (e.g. support), or pass --all")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    return runner.evaluate(project, refs, all_adapters=all_adapters, limit=limit, force=rerun)


def export_sheet(project: Project, ref: str, path: Path | str, *, limit: int | None = None) -> int:
    """Write a human-eval sheet for REF: prompt, reference, base and adapter answers, empty 1-5 ratings."""
    from adapterctl.evaluation import runner

    return runner.export_sheet(project, ref, Path(path), limit=limit)


def import_sheet(project: Project, ref: str, path: Path | str) -> dict[str, Any]:
    """Store a rated sheet's summary (means and counts per criterion) in REF's card."""
    from adapterctl.evaluation import runner

    return runner.import_sheet(project, ref, Path(path))


def diff(project: Project, ref_a: str, ref_b: str) -> Comparison:
    """Spec, data (row level), metric (with intervals), gate, weight and output differences
    between two versions; returns a report.compare.Comparison."""
    from adapterctl.report import diff as diff_mod

    return diff_mod.diff(project, ref_a, ref_b)


def same_version(project: Project, ref_a: str, ref_b: str) -> str | None:
    """The version's ref when REF_A and REF_B name the same version (diff has nothing to say), else None."""
    from adapterctl import versions

    a = versions.resolve(project, ref_a, verify=False)
    b = versions.resolve(project, ref_b, verify=False)
    return a.ref if (a.name, a.id) == (b.name, b.id) else None


def report(project: Project, base_ref: str, *, env: str = "prod") -> Report:
    """The PR report: each adapter's newest version on this branch against what ENV served at
    BASE_REF, from committed cards and eval results only; returns a report.pr.Report."""
    from adapterctl.report import pr

    return pr.report(project, base_ref, env=env)


def check(project: Project, base_ref: str) -> list[CheckProblem]:
    """New versions on this branch (since BASE_REF) that are unevaluated or failed their gates."""
    from adapterctl.report import pr

    return pr.check(project, base_ref)


def _sync_if_server(project: Project, env: str) -> SyncReport | None:
    """After a move: drive the environment's server, if the manifest names one (ops/sync.py)."""
    from adapterctl.ops.sync import sync_if_server

    return sync_if_server(project, env)


# ── data: check and fix (see data/hygiene/) ──


def data_check(project: Project, name: str, *, use_cache: bool = True) -> DataReport:
    """Hygiene checks of NAME's data files (schema, duplicates, leakage, debris, contradictions,
    length, PII, style, tags) as a hygiene.checker.Report; cached by the files' md5."""
    from adapterctl.data.hygiene import checker

    m = load_manifest(project)
    return checker.check(project, m.adapter(name), m.base, use_cache=use_cache)


def data_fix(project: Project, name: str, out: Path | str) -> FixResult:
    """Write a cleaned copy of NAME's data files under OUT, and OUT/fixes.jsonl; the inputs stay as they are."""
    from adapterctl.data.hygiene import fix

    m = load_manifest(project)
    return fix.fix(project, m.adapter(name), Path(os.path.abspath(out)))  # links are checked, not followed


# ── merge, combine, export (see merge/ and ops/combine.py) ──


def merge(
    project: Project,
    ref: str,
    out: Path | str,
    *,
    dtype: str | None = None,
    verify: bool = True,
    into: str = "full",
    progress: bool = True,
) -> MergeResult:
    """Merge version REF into its base weights as a standard HF model folder at `out` (all or nothing)."""
    from adapterctl.merge import merger

    return merger.merge_version(project, ref, Path(out), dtype=dtype, verify=verify, into=into, progress=progress)


def combine(
    project: Project,
    refs: list[str],
    into: str,
    *,
    method: str = "linear",
    weights: list[float] | None = None,
    density: float | None = None,
    message: str = "",
) -> CombineResult:
    """Combine versions REFS into a new version of INTO (PEFT add_weighted_adapter); its card lists every input."""
    from adapterctl.ops import combine as combining

    return combining.combine(
        project, list(refs), into, method=method, weights=weights, density=density, message=message
    )


def export(
    project: Project,
    ref: str,
    fmt: str,
    out: Path | str,
    *,
    dtype: str | None = None,
    verify: bool = True,
    progress: bool = True,
) -> ExportResult:
    """Write version REF for a consumer: a verified PEFT folder, a merged model, or a vLLM LoRA module."""
    from adapterctl.merge import export as exporting

    return exporting.export(project, ref, fmt, Path(out), dtype=dtype, verify=verify, progress=progress)
