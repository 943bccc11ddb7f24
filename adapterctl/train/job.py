"""A training job: what one run trains, typed. It is stored in run.json (`to_dict`), and an
`accelerate launch` worker or a resumed run rebuilds it from there (`from_dict`). How the run
is carried out (progress, launcher) is not part of it: see options.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapterctl.manifest import AdapterSpec, BaseSection
from adapterctl.versions.card import DataCheck, SweepInfo


@dataclass
class TrainJob:
    adapter: str
    spec: AdapterSpec  # defaults, the adapter's tables and --set applied
    spec_hash: str
    base: BaseSection
    overrides: list[str] = field(default_factory=list)  # the --set assignments, as typed
    sweep: SweepInfo | None = None  # set on sweep candidates
    data_check: DataCheck | None = None  # the data check's summary, for the card (data/hygiene/gate.py)

    @classmethod
    def from_spec(cls, spec: AdapterSpec, spec_hash: str, base: BaseSection, **kwargs: Any) -> TrainJob:
        return cls(adapter=spec.name, spec=spec, spec_hash=spec_hash, base=base, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainJob:
        """Read back what `to_dict` wrote (run.json)."""
        return cls(
            adapter=data["adapter"],
            spec=AdapterSpec.load(data["spec"]),
            spec_hash=data["spec_hash"],
            base=BaseSection.model_validate(data["base"], strict=False),
            overrides=list(data.get("overrides") or []),
            sweep=SweepInfo.model_validate(data["sweep"]) if data.get("sweep") else None,
            data_check=DataCheck.model_validate(data["data_check"]) if data.get("data_check") else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter,
            "spec": self.spec.dump(),
            "spec_hash": self.spec_hash,
            "base": self.base.model_dump(),
            "overrides": list(self.overrides),
            "sweep": self.sweep.to_dict() if self.sweep else None,
            "data_check": self.data_check.to_dict() if self.data_check else None,
        }

    def adapter_spec(self) -> AdapterSpec:
        return self.spec

    def base_section(self) -> BaseSection:
        return self.base
