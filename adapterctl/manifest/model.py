"""The loaded manifest and the resolved spec of one adapter: defaults ⊕ its own tables ⊕ --set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from adapterctl.core.errors import ManifestError
from adapterctl.manifest import rules
from adapterctl.manifest.keypaths import _as_manifest_error, _Ctx, _did_you_mean
from adapterctl.manifest.schema import (
    OVERRIDABLE,
    AdapterSection,
    BaseSection,
    DataCheckSpec,
    Defaults,
    EnvironmentSection,
    EvalSpec,
    LoraSpec,
    ProjectSection,
    Section,
    TrainSpec,
)


class CombineSpec(BaseModel):
    """A combination's recipe: the adapters it combines (by name), how, with which weights.
    Its dump is part of the spec hash: field order and float values must stay as they are."""

    model_config = ConfigDict(frozen=True)

    inputs: list[str]
    method: str
    weights: list[float]
    density: float | None = None  # ties / dare_* only


@dataclass(frozen=True)
class AdapterSpec:
    """One adapter with defaults and overrides applied: what `train` and `eval` use."""

    name: str
    description: str
    data: str | None  # None for a combination (see `combine`)
    eval_data: str | None
    val_data: str | None
    template: str | None
    lora: LoraSpec
    train: TrainSpec
    eval: EvalSpec
    gates: dict[str, str]
    data_checks: DataCheckSpec = field(default_factory=DataCheckSpec)
    combine: CombineSpec | None = None  # None for trained adapters

    def to_dict(self) -> dict[str, Any]:
        """The spec as a version card records it (and `spec_hash` reads it). Data checks are not
        part of it: they judge the data, not the weights, and adding them would change every card."""
        return ({"combine": self.combine.model_dump()} if self.combine else {}) | {
            "name": self.name,
            "description": self.description,
            "data": self.data,
            "eval_data": self.eval_data,
            "val_data": self.val_data,
            "template": self.template,
            "lora": self.lora.model_dump(),
            "train": self.train.model_dump(),
            "eval": self.eval.model_dump(),
            "gates": dict(self.gates),
        }

    def dump(self) -> dict[str, Any]:
        """Everything, data checks included, as plain data (`show --json`, run.json); `load` reads it back."""
        return self.to_dict() | {"data_checks": self.data_checks.model_dump(by_alias=True)}

    @classmethod
    def load(cls, data: dict[str, Any]) -> AdapterSpec:
        """The spec `dump` (or `to_dict`, without data checks) wrote; JSON's lists are accepted for tuples."""
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            data=data.get("data"),
            eval_data=data.get("eval_data"),
            val_data=data.get("val_data"),
            template=data.get("template"),
            lora=LoraSpec.model_validate(data["lora"], strict=False),
            train=TrainSpec.model_validate(data["train"], strict=False),
            eval=EvalSpec.model_validate(data["eval"], strict=False),
            gates=dict(data.get("gates") or {}),
            data_checks=DataCheckSpec.model_validate(data.get("data_checks") or {}, strict=False),
            combine=CombineSpec.model_validate(data["combine"]) if data.get("combine") else None,
        )


@dataclass(frozen=True)
class Manifest:
    path: Path
    text: str
    project: ProjectSection
    base: BaseSection
    defaults: Defaults
    raw_adapters: dict[str, AdapterSection] = field(default_factory=dict)
    environments: dict[str, EnvironmentSection] = field(default_factory=dict)  # [environments.NAME]

    @property
    def root(self) -> Path:
        return self.path.parent

    def error_at(self, key_path: str, message: str) -> ManifestError:
        """An error naming this manifest's file, the line `key_path` is set on, and the key."""
        return _Ctx(self.path, self.text).error(key_path, message)

    @property
    def adapter_names(self) -> list[str]:
        return list(self.raw_adapters)

    def adapter(self, name: str, overrides: dict[str, Any] | None = None) -> AdapterSpec:
        """Defaults ⊕ the adapter's own tables ⊕ `overrides` (from --set), validated."""
        if name not in self.raw_adapters:
            raise ManifestError(f"{self.path.name}: no adapter named '{name}'{_did_you_mean(name, self.raw_adapters)}")
        raw = self.raw_adapters[name]
        resolved: dict[str, Section] = {}
        for table, model in OVERRIDABLE.items():
            own = getattr(raw, table)
            extra = (overrides or {}).get(table, {})
            merged = {**getattr(self.defaults, table).model_dump(), **own, **extra}
            try:
                resolved[table] = model.model_validate(merged)
            except ValidationError as exc:
                loc = str(exc.errors()[0]["loc"][0])
                if loc in extra:
                    where = f"--set {table}"
                else:
                    where = f"adapters.{name}.{table}" if loc in own else f"defaults.{table}"
                raise _as_manifest_error(exc, where, self) from None
        where = f"adapters.{name}.data_checks" if raw.data_checks else "defaults.data"
        try:
            checks = DataCheckSpec.model_validate({**self.defaults.data.model_dump(by_alias=True), **raw.data_checks})
        except ValidationError as exc:
            raise _as_manifest_error(exc, where, self) from None
        spec = AdapterSpec(
            name=name,
            description=raw.description,
            data=raw.data,
            eval_data=raw.eval_data,
            val_data=raw.val_data,
            template=raw.template,
            gates=dict(raw.gates),
            data_checks=checks,
            combine=combine_recipe(raw),
            **resolved,  # type: ignore[arg-type]
        )
        self._check_rules(spec, overrides or {})
        return spec

    def _check_rules(self, spec: AdapterSpec, overrides: dict[str, Any]) -> None:
        """Cross-field rules (manifest/rules.py); the error blames the place where the key is set."""
        for violation in rules.violations(spec)[:1]:
            table, leaf = violation.key.split(".", 1)
            if leaf in overrides.get(table, {}):
                raise ManifestError(f"--set {violation.key}: {violation.message}")
            own = getattr(self.raw_adapters[spec.name], table)
            where = f"adapters.{spec.name}.{violation.key}" if leaf in own else f"defaults.{violation.key}"
            raise _Ctx(self.path, self.text).error(where, violation.message)


DENSITY_METHODS = ("ties", "dare_linear", "dare_ties")


def combine_recipe(section: AdapterSection) -> CombineSpec | None:
    """The recipe of a combination adapter, defaults filled; None otherwise."""
    if section.combine is None:
        return None
    method = section.method or "linear"
    density = section.density if section.density is not None else (0.5 if method in DENSITY_METHODS else None)
    return CombineSpec(
        inputs=list(section.combine),
        method=method,
        weights=list(section.weights) if section.weights else [1.0] * len(section.combine),
        density=density,
    )
