"""`train NAME…`: which adapters (named, or every stale one), the trained ones first in one
batch that shares the base load, combinations last, then eval when asked (api.train)."""

from __future__ import annotations

from adapterctl import manifest
from adapterctl.core import ui
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.train.options import RunOptions
from adapterctl.train.results import TrainResult


def train(
    project: Project,
    names: list[str] | tuple[str, ...] = (),
    *,
    overrides: list[str] | None = None,
    resume: bool = False,
    all_stale: bool = False,
    options: RunOptions = RunOptions(),
    message: str = "",
    evaluate: bool = False,
) -> list[TrainResult]:
    """Train adapters NAME… from their resolved specs into new versions, one after another.

    The base is loaded once for all of them where quantisation and dtypes agree. Ctrl-C
    raises Interrupted (exit 130) and registers nothing; `resume=True` continues the newest
    interrupted run of each name from its last checkpoint. Data with `data check` errors is
    refused (DataError) unless `options.allow_data_errors`; the card records the check and any override.
    """
    from adapterctl.train import runner
    from adapterctl.train.results import train_result

    wanted = list(dict.fromkeys(names))
    if all_stale:
        from adapterctl import status as stale

        wanted += [n for n in stale.stale_names(project) if n not in wanted]
        if not wanted:
            ui.info("no adapter is stale: every latest version matches the manifest")
            return []
    if not wanted:
        raise UsageError("name at least one adapter to train, or pass --all-stale")
    from adapterctl.ops import combine as combining

    if evaluate:  # a gate comparing with a mistyped environment fails now, not after training
        _check_gate_references(project, wanted)
    combos = combining.combinations(project, wanted, overrides=bool(overrides), resume=resume)
    trained = [n for n in wanted if n not in combos]
    jobs = runner.prepare(project, trained, list(overrides or []), options=options)
    outcomes = (
        runner.train_all(project, jobs, options, resume=resume, overrides_given=bool(overrides), message=message)
        if trained
        else []
    )
    # Combinations last: an input trained just now is the latest version they combine.
    results = [train_result(o) for o in outcomes] + [combining.rebuild(project, n, message=message) for n in combos]
    if evaluate:  # eval and gates on each new version whose adapter has an eval set
        from adapterctl.evaluation import runner as eval_runner

        m = manifest.load(project.manifest_path)
        for r in results:
            if r.version and m.adapter(r.adapter).eval_data:
                (r.eval,) = eval_runner.evaluate(project, [f"{r.adapter}@{r.version}"])
    return results


def _check_gate_references(project: Project, names: list[str]) -> None:
    from adapterctl.evaluation import gates
    from adapterctl.store import environments

    m = manifest.load(project.manifest_path)
    known = set(environments.load(project))
    for name in names:
        if name in m.raw_adapters and (unknown := gates.unknown_references(m, name, known)):
            raise unknown[0]
