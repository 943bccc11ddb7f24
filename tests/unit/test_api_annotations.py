"""The Python API says what each function returns (issue 18: typed results), so callers and
mypy know the result type without reading the body."""

from __future__ import annotations

import inspect

import pytest

from adapterctl import api, api_serving


@pytest.mark.parametrize("module", [api, api_serving], ids=lambda m: m.__name__)
def test_every_public_api_function_annotates_its_return_type(module) -> None:
    functions = [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]
    assert functions, "the module defines the API's functions"
    missing = [name for name in functions if "return" not in getattr(module, name).__annotations__]
    assert missing == []
