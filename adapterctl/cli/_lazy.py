"""`api` for the CLI modules, imported on first use: `adapterctl --help` never loads the
manifest schema (pydantic) or anything behind it."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


api: Any = LazyModule("adapterctl.api")
