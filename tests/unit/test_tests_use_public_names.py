"""Tests reach adapterctl through its public names only: a test that imports `_name` pins a
detail a refactor should be free to change. Test through the public function, or make the
function public when it is a real API."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _private(dotted: str) -> bool:
    """Whether a dotted name has a part with a leading underscore (dunders such as __version__ are public)."""
    return any(part.startswith("_") and not part.endswith("__") for part in dotted.split("."))


def private_uses(source: str) -> list[str]:
    """'line: what' for every private adapterctl name SOURCE imports or reaches by attribute."""
    tree = ast.parse(source)
    bound: set[str] = set()  # local names that stand for an adapterctl module or object
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "adapterctl":
            for alias in node.names:
                if _private(f"{node.module}.{alias.name}"):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "adapterctl":
                    if _private(alias.name):
                        found.append(f"{node.lineno}: import {alias.name}")
                    bound.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value  # monkeypatch.setattr("adapterctl.module._name", ...)
            if text.startswith("adapterctl.") and " " not in text and _private(text):
                found.append(f"{node.lineno}: {text!r}")
    return sorted(set(found), key=lambda f: int(f.split(":")[0]))


def test_no_test_uses_a_private_adapterctl_name() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{use}"
        for path in sorted(TESTS.rglob("*.py"))
        for use in private_uses(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "tests use private adapterctl names:\n" + "\n".join(offenders)


def test_the_check_sees_each_way_of_reaching_a_private_name() -> None:
    source = """
from adapterctl import __version__, manifest
from adapterctl.evaluation.runner import _hidden, public
from adapterctl.cli._lazy import api
import adapterctl.cli.docgen as docgen
import json
manifest._without(1)
docgen._walk
json._private
monkeypatch.setattr("adapterctl.ops.train._run", None)
"""
    assert private_uses(source) == [
        "3: from adapterctl.evaluation.runner import _hidden",
        "4: from adapterctl.cli._lazy import api",
        "7: manifest._without",
        "8: docgen._walk",
        "10: 'adapterctl.ops.train._run'",
    ]
