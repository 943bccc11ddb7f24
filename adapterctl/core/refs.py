"""The reference grammar, one parse/format pair used everywhere.

support            the latest version of adapter `support`
support@3f2a9c1e   the version whose id starts with 3f2a9c1e (4+ hex digits)
support@prod       the version environment `prod` points at
support@~1         the parent of the latest (~N: N parents back, like git's HEAD~N)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from adapterctl.core.errors import RefError

NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
ID_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")
_HEX = re.compile(r"^[0-9a-f]+$")
_REF = re.compile(rf"^(?P<name>{NAME})(?:@(?P<target>[^@\s]+))?$")

Kind = Literal["latest", "id", "env", "back"]


@dataclass(frozen=True)
class Ref:
    name: str
    kind: Kind = "latest"
    value: str = ""  # id prefix, environment name, or steps back as text

    @property
    def steps_back(self) -> int:
        return int(self.value) if self.kind == "back" else 0

    def __str__(self) -> str:
        return format_ref(self)


def parse_ref(text: str) -> Ref:
    m = _REF.match(text.strip())
    if not m:
        raise RefError(f"invalid reference {text!r}: write NAME, NAME@<id>, NAME@<env> or NAME@~N (e.g. support@prod)")
    name, target = m.group("name"), m.group("target")
    if target is None:
        return Ref(name)
    if target.startswith("~"):
        steps = target[1:] or "1"
        if not steps.isdigit():
            raise RefError(f"invalid reference {text!r}: ~N takes a whole number of steps, e.g. {name}@~1")
        return Ref(name, "latest", "") if int(steps) == 0 else Ref(name, "back", str(int(steps)))
    if ID_PREFIX.match(target):
        return Ref(name, "id", target)
    if is_env_name(target):
        return Ref(name, "env", target)
    if _HEX.match(target):
        raise RefError(f"invalid reference {text!r}: an id prefix needs at least 4 hex digits")
    raise RefError(
        f"invalid reference {text!r}: {target!r} is neither a version id (4+ hex digits) nor an environment name"
    )


def format_ref(ref: Ref) -> str:
    if ref.kind == "latest":
        return ref.name
    if ref.kind == "back":
        return f"{ref.name}@~{ref.value}"
    return f"{ref.name}@{ref.value}"


def short(vid: str) -> str:
    """A version id (or any hex hash) as people read it, like a short git sha; "" stays ""."""
    return vid[:12]


def target_for(name: str, text: str) -> Ref:
    """A reference to adapter NAME given in full (support@prod) or as what follows the @
    (3f2a9c1e, prod, ~1), as `rollback --to` takes it."""
    return parse_ref(text) if text == name or "@" in text else parse_ref(f"{name}@{text}")


def is_version_ref(text: str) -> bool:
    """Whether TEXT names a version (NAME@...) rather than an adapter (NAME): only the
    former has a target, even when it resolves to the latest (NAME@~0)."""
    return "@" in text


def is_env_name(text: str) -> bool:
    """Environment names start with a letter and are never all hex digits, so `support@abc`
    is a too-short id prefix rather than an environment, and never the other way round."""
    return bool(ENV_NAME.match(text)) and not _HEX.match(text)
