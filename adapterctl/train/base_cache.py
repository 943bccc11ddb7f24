"""The base model held between adapters: `train a b` loads it once when their load keys agree."""

from __future__ import annotations

import gc

from adapterctl import modeling
from adapterctl.core.project import Project
from adapterctl.train.job import TrainJob


class BaseCache:
    """Holds the last loaded base so `train a b` loads it once when their load keys agree."""

    def __init__(self) -> None:
        self.loaded: modeling.LoadedBase | None = None
        self.loads = 0

    def get(self, project: Project, job: TrainJob, dev: str, device_index: int | None) -> modeling.LoadedBase:
        base, train = job.base_section(), job.adapter_spec().train
        key = modeling.base_key(project, base, train, dev)
        if self.loaded is not None and self.loaded.key == key:
            return self.loaded
        self.clear()
        self.loaded = modeling.load_base(project, base, train, dev=dev, device_index=device_index)
        self.loads += 1
        return self.loaded

    def discard(self) -> None:
        """Forget the held base (its weights were changed, e.g. by PiSSA/OLoRA init)."""
        self.loaded = None

    def clear(self) -> None:
        if self.loaded is not None:
            self.loaded = None
            gc.collect()  # a large base should be gone before the next one loads
