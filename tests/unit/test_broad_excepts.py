"""Every broad `except Exception` / `except BaseException` in adapterctl/ says why on its own
line. ruff's BLE rule catches the swallowing ones; this also covers those that clean up and
re-raise, which BLE lets through."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "adapterctl"
BROAD = {"Exception", "BaseException"}


def broad_without_reason(source: str) -> list[int]:
    """Line numbers of broad except clauses with no comment on the `except` line."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ExceptHandler):
            continue
        caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        names = {c.id for c in caught if isinstance(c, ast.Name)}
        if (node.type is None or names & BROAD) and "#" not in lines[node.lineno - 1]:
            found.append(node.lineno)
    return found


def test_every_broad_except_says_why() -> None:
    missing = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in broad_without_reason(path.read_text(encoding="utf-8"))
    ]
    assert missing == [], "broad except without a reason comment:\n" + "\n".join(missing)


def test_the_check_sees_bare_tuple_and_broad_clauses() -> None:
    source = """
try:
    pass
except Exception:
    pass
except (OSError, BaseException):
    raise
except:
    raise
except ValueError:
    pass
except Exception:  # the reason
    pass
"""
    assert broad_without_reason(source) == [4, 6, 8]
