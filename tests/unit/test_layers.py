"""The import graph of adapterctl/ respects the layers (DESIGN.md §5; docs/architecture.md maps
the packages to them): no module imports a higher layer, and there are no import cycles except
the CLI's command registration (cli/__init__ imports the command modules, which import the app
back to register on it).

A small AST walk: every `import adapterctl...` and `from adapterctl... import` in a module,
function-level (lazy) imports included, because a lazy import is still a dependency. Imports
under `if TYPE_CHECKING:` only name types and count for layers, not for cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "adapterctl"

# DESIGN.md §5, lowest first: the first part of a module's name below adapterctl. The packages
# show the layers: core/ (1), store/ (2), versions/ (3); `runtime` (quiet, precision, threads)
# is layer 4's "what every model user shares"; __main__ is a face.
LAYERS: dict[int, tuple[str, ...]] = {
    1: ("__init__", "core"),
    2: ("manifest", "store"),
    3: ("versions",),
    4: ("modeling", "tiny", "runtime"),
    5: ("data",),
    6: ("train", "evaluation", "merge", "report", "serve", "dashboard"),
    7: ("ops", "views", "status"),
    8: ("api", "api_serving", "cli", "__main__"),
}
# The table's "never imports" column, beyond the layer order: module prefixes below adapterctl.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "manifest": ("store.storage", "store.gitio"),  # pure: no DVC, no git
    "serve": ("train",),
    "report": ("train",),
    "dashboard": ("train",),
    "views": ("ops",),  # read-only views never import state changes
    "status": ("ops",),
}
ALLOWED_CYCLE = "cli"  # cli/__init__ ↔ cli/*_cmds: the commands register on the app


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    for layer, names in LAYERS.items():
        if top(module) in names:
            return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/unit/test_layers.py (DESIGN.md §5)")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def _known(target: str) -> str:
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def imports(module: str) -> list[tuple[str, bool]]:
    """(imported adapterctl module, typing only) for each import statement in `module`."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_nodes(tree)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - (node.level - 1) - (0 if is_package else 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]
        for target in targets:
            if target.split(".")[0] == "adapterctl" and (resolved := _known(target)) != module:
                found.append((resolved, id(node) in typing_only))
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_the_walk_sees_imports() -> None:
    """The test would pass vacuously if the walk found nothing."""
    assert ("adapterctl.core.project", False) in GRAPH["adapterctl.ops"]
    assert any(t == "adapterctl.manifest.model" for t, _ in GRAPH["adapterctl.manifest.rules"])
    assert len(MODULES) > 100


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_the_layers(module: str) -> None:
    mine = layer_of(module)
    for target, _ in GRAPH[module]:
        theirs = layer_of(target)
        assert theirs <= mine, f"{module} (layer {mine}) imports {target} (layer {theirs}): DESIGN.md §5"
        below = target.removeprefix("adapterctl.") + "."
        forbidden = FORBIDDEN.get(top(module), ())
        assert not any(below.startswith(f"{f}.") for f in forbidden), f"{module} must not import {target}"


def test_no_cycles_but_the_cli_registration() -> None:
    edges = {m: {t for t, typing_only in GRAPH[m] if not typing_only} for m in MODULES}
    cycles = [c for c in _strongly_connected(edges) if len(c) > 1 and {top(m) for m in c} != {ALLOWED_CYCLE}]
    assert not cycles, f"import cycles: {cycles}"


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on a long chain)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"], ["d"]]
