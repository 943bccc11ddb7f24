"""`combine`, and `train NAME` for a combination declared in the manifest: new versions built
from other versions (merge/combine.py does the work), under the project lock."""

from __future__ import annotations

from adapterctl import manifest
from adapterctl.core.errors import UsageError
from adapterctl.core.project import Project
from adapterctl.core.refs import short
from adapterctl.merge import combine as combining
from adapterctl.merge.combine import CombineResult
from adapterctl.ops import changes_state
from adapterctl.train.results import TrainResult


@changes_state
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
    return combining.combine(project, refs, into, method=method, weights_=weights, density=density, message=message)


def combinations(project: Project, names: list[str], *, overrides: bool, resume: bool) -> list[str]:
    """Which of NAMES are combinations; they are rebuilt from their inputs, never trained."""
    m = manifest.load(project.manifest_path)
    combos = [n for n in names if m.adapter(n).combine]
    if combos and (overrides or resume):
        raise UsageError(f"{combos[0]} is a combination: it is rebuilt from its inputs (no --set, --resume or sweep)")
    return combos


@changes_state
def rebuild(project: Project, name: str, *, message: str = "") -> TrainResult:
    """`train NAME` for a combination: its inputs' latest versions, combined as declared."""
    r = combining.rebuild(project, name, message=message)
    inputs = " + ".join(f"{p.split('@')[0]}@{short(p.split('@')[1])}" for p in r.parents)
    return TrainResult(
        adapter=name,
        version=r.id,
        short=short(r.id),
        parent=r.parent or None,
        run_id="",
        steps=0,
        val_loss={},
        train_seconds=0.0,
        tokens_per_second=None,
        notices=[f"combined {inputs} ({r.method})"],
    )
