"""A base checkpoint's safetensors shards, and a writer that streams tensors into a shard.

The writer lays out the header first (names, dtypes and shapes are known from the input
headers), then appends each tensor's bytes as it is computed: no output shard is ever held
in memory, only the tensor being written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from adapterctl.core.errors import UsageError
from adapterctl.store import weights
from adapterctl.store.weights import TensorInfo

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
FLOAT_CODES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}
CODE_OF = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}
_ITEMSIZE = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}
_COPY_CHUNK = 8 << 20


@dataclass(frozen=True)
class Shard:
    name: str  # file name inside the base folder
    path: Path
    tensors: dict[str, TensorInfo]  # in file order


@dataclass(frozen=True)
class Checkpoint:
    folder: Path
    shards: list[Shard]
    index: dict[str, Any] | None  # the parsed index json, None for a single-file model

    @property
    def tensors(self) -> dict[str, TensorInfo]:
        return {name: info for shard in self.shards for name, info in shard.tensors.items()}


def open_checkpoint(folder: Path) -> Checkpoint:
    """The shards of a base model folder (an index json, or one model.safetensors)."""
    index_path = folder / INDEX
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            names = sorted(set(index["weight_map"].values()))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{index_path}: not a valid safetensors index ({exc})") from None
    elif (folder / SINGLE).is_file():
        index, names = None, [SINGLE]
    else:
        pickled = sorted(p.name for p in folder.glob("*.bin"))
        detail = (
            f"it has only pickled weights ({pickled[0]}), which are never loaded; convert them to safetensors"
            if pickled
            else "no model.safetensors or model.safetensors.index.json"
        )
        raise UsageError(f"{folder}: cannot merge into this base: {detail}")
    shards = []
    for name in names:
        header = weights.read_header(folder / name)
        ordered = dict(sorted(header.items(), key=lambda item: item[1].start))
        shards.append(Shard(name, folder / name, ordered))
    return Checkpoint(folder, shards, index)


def output_code(info: TensorInfo, dtype: str | None) -> str:
    """The safetensors dtype a tensor is written in: `dtype` for floating tensors, else as it was."""
    if dtype is None or info.dtype not in FLOAT_CODES:
        return info.dtype
    return CODE_OF[dtype]


def nbytes(code: str, shape: tuple[int, ...]) -> int:
    if code not in _ITEMSIZE:
        raise UsageError(f"safetensors dtype {code} is not supported by merge")
    count = 1
    for dim in shape:
        count *= dim
    return count * _ITEMSIZE[code]


class ShardWriter:
    """Write one safetensors file tensor by tensor, in the order the layout lists them."""

    def __init__(self, path: Path, layout: list[tuple[str, str, tuple[int, ...]]], metadata: dict[str, str]):
        header: dict[str, Any] = {"__metadata__": metadata}
        offset = 0
        self.expected: list[tuple[str, int]] = []
        for name, code, shape in layout:
            size = nbytes(code, shape)
            header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + size]}
            self.expected.append((name, size))
            offset += size
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # tensor data starts 8-byte aligned
        self.path = path
        self.file: BinaryIO = path.open("wb")
        self.file.write(len(raw).to_bytes(8, "little") + raw)
        self.position = 0
        self.data_bytes = offset

    def _next(self, name: str) -> int:
        expected_name, size = self.expected[self.position]
        if name != expected_name:
            raise RuntimeError(f"shard writer: expected tensor {expected_name}, got {name}")
        self.position += 1
        return size

    def write_tensor(self, name: str, tensor) -> None:
        """A torch tensor whose dtype and shape match the layout."""
        import torch

        size = self._next(name)
        flat = tensor.detach().contiguous().reshape(-1).view(torch.uint8)
        if flat.numel() != size:
            raise RuntimeError(f"shard writer: {name} has {flat.numel()} bytes, the header says {size}")
        self.file.write(memoryview(flat.numpy()))

    def copy_bytes(self, name: str, source: BinaryIO, info: TensorInfo) -> None:
        """The tensor's bytes straight from the input file (same dtype): no tensor is built."""
        size = self._next(name)
        if info.end - info.start != size:
            raise RuntimeError(f"shard writer: {name} is {info.end - info.start} bytes in the base, {size} here")
        source.seek(info.start)
        left = size
        while left:
            chunk = source.read(min(_COPY_CHUNK, left))
            if not chunk:
                raise RuntimeError(f"{source.name}: truncated inside {name}")
            self.file.write(chunk)
            left -= len(chunk)

    def close(self) -> None:
        if self.position != len(self.expected):
            raise RuntimeError(f"shard writer: {self.path.name} got {self.position} of {len(self.expected)} tensors")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def abort(self) -> None:
        self.file.close()
