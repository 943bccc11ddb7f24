"""`adapterctl combine`: several versions → one new version, through PEFT's add_weighted_adapter.

The inputs must share a base (the cards' model, revision and weights hash) and have
compatible LoRA configs; what PEFT would reject, or silently get wrong (DoRA magnitudes
are not combined), is refused with the reason. The result is registered like any version:
its card's `parent` is the previous version of the combination (so `log` and `@~1` work),
and `parents` lists every input version.
"""

from __future__ import annotations

import math
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core import ui
from adapterctl.core.errors import IntegrityError, UsageError
from adapterctl.core.project import Project
from adapterctl.store import weights
from adapterctl.versions.card import Training

METHODS = ("linear", "cat", "svd", "ties", "dare_linear", "dare_ties")
EQUAL_RANK = ("linear", "ties", "dare_linear", "dare_ties")


@dataclass
class CombineResult:
    ref: str
    name: str
    id: str
    parent: str  # the previous version of NAME ("" for the first)
    parents: list[str]  # the input versions, NAME@<full id>
    method: str
    weights: list[float]
    density: float | None
    r: int
    declared: bool  # NAME is a combination declared in the manifest (status tracks it)
    new: bool  # False when this content already was a version


def combine(
    project: Project,
    refs: list[str],
    into: str,
    *,
    method: str = "linear",
    weights_: list[float] | None = None,
    density: float | None = None,
    message: str = "",
) -> CombineResult:
    """Combine the versions REFS into a new version of INTO."""
    manifest.check_adapter_name(into)
    recipe = _recipe(refs, method, weights_, density)
    inputs = [versions.resolve(project, ref, verify=True) for ref in refs]
    if len({v.id for v in inputs}) != len(inputs):
        raise UsageError("combine: the same version is named twice")
    if any(v.name == into for v in inputs):
        raise UsageError(f"--into {into}: an input is a version of {into}; combine into a new name")
    _check_same_base(inputs)
    on_base = versions.card_base(project, inputs[0])
    for v in inputs:  # the base about to be loaded is the one each card records; each input is sound
        on_base.admit(v)
    configs = [weights.read_config(v.path) for v in inputs]
    _check_configs(inputs, configs, recipe.method)
    m = manifest.load(project.manifest_path)
    spec, declared = _spec(m, into, inputs, recipe)
    before = {v.id for v in versions.log(project, into)}
    # Not under .adapterctl/staging, which `register` sweeps; leftovers of killed runs go here
    # (the caller holds the project lock, so no other combine is writing).
    shutil.rmtree(project.state_dir / "combine", ignore_errors=True)
    staging = project.state_dir / "combine" / uuid.uuid4().hex
    try:
        folder = _build(project, inputs, recipe, staging)
        r = int(weights.read_config(folder).get("r", 0))
        parents = [f"{v.name}@{v.id}" for v in inputs]
        version = versions.register(
            project,
            into,
            folder,
            spec=spec,
            message=message or f"combine {' + '.join(v.ref for v in inputs)} ({recipe.method})",
            training=Training(source="combine"),
            label=f"combine result ({recipe.method} of {', '.join(v.ref for v in inputs)})",
            card_extra={
                "parents": parents,
                "combine": {**recipe.model_dump(), "inputs": [{"name": v.name, "id": v.id} for v in inputs]},
            },
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return CombineResult(
        version.ref,
        into,
        version.id,
        version.parent,
        parents,
        recipe.method,
        recipe.weights,
        recipe.density,
        r,
        declared,
        version.id not in before,
    )


def rebuild(project: Project, name: str, *, message: str = "") -> CombineResult:
    """Re-combine the latest versions of a combination's inputs, as the manifest declares it."""
    spec = manifest.load(project.manifest_path).adapter(name)
    if not spec.combine:
        raise UsageError(f"'{name}' is not a combination (it has no `combine` in the manifest)")
    c = spec.combine
    return combine(
        project,
        list(c.inputs),
        name,
        method=c.method,
        weights_=c.weights,
        density=c.density,
        message=message,
    )


def _recipe(refs: list[str], method: str, weights_: list[float] | None, density: float | None) -> manifest.CombineSpec:
    if len(refs) < 2:
        raise UsageError("combine: name at least two versions")
    if method not in METHODS:
        raise UsageError(f"--method {method}: use one of {', '.join(METHODS)}")
    if weights_ is not None and len(weights_) != len(refs):
        raise UsageError(f"--weights: give one weight per version ({len(refs)}), got {len(weights_)}")
    if weights_ is not None:
        bad = [w for w in weights_ if not math.isfinite(w)]
        if bad:
            raise UsageError(f"--weights: {bad[0]} is not a finite number")
        if not any(weights_):
            raise UsageError("--weights: every weight is 0, which combines into an adapter that does nothing")
    if density is not None and method not in manifest.DENSITY_METHODS:
        raise UsageError(f"--density only applies to {', '.join(manifest.DENSITY_METHODS)}")
    if density is not None and not 0 < density <= 1:
        raise UsageError(f"--density {density}: must be in (0, 1]")
    if density is None and method in manifest.DENSITY_METHODS:
        density = 0.5
    # Inputs are named by adapter in the recipe: what the manifest's `combine` list holds.
    return manifest.CombineSpec(
        inputs=[r.split("@")[0] for r in refs],
        method=method,
        weights=[float(w) for w in weights_] if weights_ else [1.0] * len(refs),
        density=density,
    )


def _check_same_base(inputs: list[versions.Version]) -> None:
    first = inputs[0]
    for v in inputs[1:]:
        why = versions.base_mismatch(first.card.base.to_dict(), v.card.base.to_dict())
        if why:
            raise IntegrityError(f"combine: {first.ref} and {v.ref} were trained on different bases ({why})")


def _check_configs(inputs: list[versions.Version], configs: list[dict[str, Any]], method: str) -> None:
    pairs = list(zip(inputs, configs, strict=True))
    for v, c in pairs:
        if c.get("use_dora"):
            raise UsageError(
                f"combine: {v.ref} is a DoRA adapter; add_weighted_adapter would drop its magnitude "
                "vectors, so combining it is refused"
            )
    kinds = {type(c.get("target_modules")).__name__ for c in configs}
    if len(kinds) > 1:
        listed = ", ".join(f"{v.ref}: {c.get('target_modules')!r}" for v, c in pairs)
        raise UsageError(f"combine: target_modules mix a regex string and a list ({listed}); PEFT cannot combine those")
    if kinds == {"list"} and not set.intersection(*(set(c["target_modules"]) for c in configs)):
        listed = "; ".join(f"{v.ref}: {', '.join(sorted(c['target_modules']))}" for v, c in pairs)
        raise UsageError(f"combine: the inputs adapt no module in common ({listed})")
    saved = [v.ref for v, c in pairs if c.get("modules_to_save")]
    if len(saved) > 1:
        raise UsageError(
            f"combine: {' and '.join(saved)} both train full modules (modules_to_save), which cannot be combined"
        )
    ranks = {v.ref: _max_rank(c) for v, c in pairs}
    if method in EQUAL_RANK and len(set(ranks.values())) > 1:
        listed = ", ".join(f"{ref} r={r}" for ref, r in ranks.items())
        raise UsageError(f"combine --method {method} needs equal ranks ({listed}); use cat or svd")


def _max_rank(config: dict[str, Any]) -> int:
    return max([int(config.get("r", 8)), *map(int, (config.get("rank_pattern") or {}).values())])


def _spec(
    m: manifest.Manifest, into: str, inputs: list[versions.Version], recipe: manifest.CombineSpec
) -> tuple[manifest.AdapterSpec, bool]:
    """The card's spec: the manifest's, when INTO is a declared combination; a minimal one otherwise."""
    if into in m.raw_adapters:
        declared = m.adapter(into)
        if not declared.combine:
            raise UsageError(
                f"--into {into}: '{into}' is a trained adapter in {m.path.name}; combine into a new "
                f"name, or declare [adapters.{into}] with combine = [...] instead of data"
            )
        return replace(declared, combine=recipe), True
    ui.warn(
        f"'{into}' is not declared in {m.path.name}: declare [adapters.{into}] combine = "
        f"{recipe.inputs} so `status` tracks when an input gets a new version"
    )
    first = m.adapter(inputs[0].name) if inputs[0].name in m.raw_adapters else None
    return manifest.AdapterSpec(
        name=into,
        description=f"combination of {', '.join(recipe.inputs)}",
        data=None,
        eval_data=None,
        val_data=None,
        template=first.template if first else None,
        lora=m.defaults.lora,
        train=m.defaults.train,
        eval=m.defaults.eval,
        gates={},
        combine=recipe,
    ), False


def _build(project: Project, inputs: list[versions.Version], recipe: manifest.CombineSpec, staging: Path) -> Path:
    """add_weighted_adapter on the full-precision base; returns the saved PEFT folder."""
    from adapterctl import modeling
    from adapterctl.runtime.quiet import quiet

    first = inputs[0].card.base.to_dict()
    current = manifest.load(project.manifest_path).base
    base = current.model_copy(update={k: first[k] for k in ("model", "revision") if first.get(k)})
    loaded = modeling.load_base(project, base, manifest.TrainSpec(quantization="none"), for_training=False)
    names = [f"input{i}" for i in range(len(inputs))]
    with quiet():
        from peft import PeftModel

        model = PeftModel.from_pretrained(loaded.model, str(inputs[0].path), adapter_name=names[0])
        for name, v in zip(names[1:], inputs[1:], strict=True):
            model.load_adapter(str(v.path), adapter_name=name)
        kwargs = {"density": recipe.density} if recipe.density is not None else {}
        try:
            model.add_weighted_adapter(names, recipe.weights, "combined", combination_type=recipe.method, **kwargs)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"combine: PEFT refused the combination: {exc}") from None
        model.save_pretrained(str(staging), selected_adapters=["combined"], safe_serialization=True)
    return staging / "combined"
