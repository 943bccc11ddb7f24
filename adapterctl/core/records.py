"""Typed tables for the files adapterctl commits (version cards, environment pointers).

`Record` is open to keys it does not declare (a newer adapterctl's file survives a round trip
through an older one) and writes its keys in the order they were read or given, as the plain
dicts these tables replaced did: declaring a field must never move a line in a committed file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_serializer, model_validator


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    _order: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        if isinstance(data, dict):  # built by field name (`from_=`) or read by file name (`from`)
            aliases = {name: f.alias for name, f in cls.model_fields.items() if f.alias}
            model._order = [aliases.get(key, key) for key in data]
        return model

    @model_serializer(mode="wrap")
    def _in_order(self, handler: Any) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        rank = {key: i for i, key in enumerate(self._order)}
        return dict(sorted(out.items(), key=lambda item: rank.get(item[0], len(rank))))

    def get(self, key: str, default: Any = None) -> Any:
        """A key that may be absent: declared fields and recorded extras alike."""
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        """A key the file must hold, read as from the dict this table was (KeyError if absent)."""
        return self.to_dict()[key]

    def to_dict(self) -> dict[str, Any]:
        """The keys the file holds (or the code set), nothing defaulted, under their file names."""
        return self.model_dump(exclude_none=True, exclude_unset=True, by_alias=True)

    def to_json(self) -> dict[str, Any]:  # ui.to_jsonable's hook
        return self.to_dict()
