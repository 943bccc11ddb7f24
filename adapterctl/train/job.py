"""A training job: everything one run needs, as plain data (it is stored in run.json, and an
`accelerate launch` worker rebuilds the recipe from it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from adapterctl.manifest import AdapterSpec, BaseSection, EvalSpec, LoraSpec, TrainSpec


@dataclass
class TrainJob:
    adapter: str
    spec: dict[str, Any]  # AdapterSpec.to_dict(): defaults, the adapter's tables and --set applied
    spec_hash: str
    base: dict[str, Any]  # BaseSection.model_dump()
    overrides: list[str] = field(default_factory=list)  # the --set assignments, as typed
    progress: str = "auto"  # auto | rich | plain | json | none
    launcher: dict[str, Any] = field(default_factory=lambda: {"kind": "none", "num_processes": 1})
    sweep: dict[str, Any] | None = None
    data_check: dict[str, Any] | None = None  # the data check's summary, for the card (data/hygiene/gate.py)

    @classmethod
    def from_spec(cls, spec: AdapterSpec, spec_hash: str, base: BaseSection, **kwargs: Any) -> TrainJob:
        return cls(adapter=spec.name, spec=spec.to_dict(), spec_hash=spec_hash, base=base.model_dump(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainJob:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def adapter_spec(self) -> AdapterSpec:
        s = self.spec
        return AdapterSpec(
            name=s["name"],
            description=s["description"],
            data=s["data"],
            eval_data=s["eval_data"],
            val_data=s["val_data"],
            template=s["template"],
            lora=LoraSpec.model_validate(s["lora"], strict=False),
            train=TrainSpec.model_validate(s["train"], strict=False),
            eval=EvalSpec.model_validate(s["eval"], strict=False),
            gates=dict(s["gates"]),
        )

    def base_section(self) -> BaseSection:
        return BaseSection.model_validate(self.base, strict=False)
