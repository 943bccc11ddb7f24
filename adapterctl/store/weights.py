"""PEFT adapter folders without torch: read safetensors headers, compute content ids,
check shapes against a base model.

A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes. Reading it by hand keeps
`log`, `status` and `resolve` free of torch, and lets us hash exactly what the format
defines (names, dtypes, shapes, bytes) rather than how a writer happened to lay it out.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterctl.core.errors import IntegrityError, UsageError

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
PICKLED = ("adapter_model.bin", "adapter_model.pt", "adapter_model.pth", "pytorch_model.bin")
_ID_DOMAIN = b"adapterctl-version-v1\0"
_MAX_HEADER = 100 * 1024 * 1024
_CHUNK = 1 << 20
# PEFT saves these sets as lists in set-iteration order, which changes between runs.
_SET_KEYS = ("target_modules", "modules_to_save", "exclude_modules")
# Informational only; the same tensors saved by another PEFT release are the same adapter.
_NOT_HASHED = ("peft_version",)


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int


def read_header(path: Path) -> dict[str, TensorInfo]:
    """The tensors of a safetensors file, validated against the file's size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            raw_len = f.read(8)
            if len(raw_len) < 8:
                raise IntegrityError(f"{path}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", raw_len)
            if n > min(_MAX_HEADER, size - 8):
                raise IntegrityError(f"{path}: not a safetensors file (header length {n})")
            header = json.loads(f.read(n))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path}: corrupt safetensors header ({exc})") from None
    except FileNotFoundError:
        raise IntegrityError(f"{path}: missing") from None
    base = 8 + n
    tensors: dict[str, TensorInfo] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = (int(x) for x in meta["data_offsets"])
            info = TensorInfo(str(meta["dtype"]), tuple(int(d) for d in meta["shape"]), base + start, base + end)
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"{path}: corrupt safetensors header entry {name!r}") from None
        if not base <= info.start <= info.end <= size:
            raise IntegrityError(f"{path}: tensor {name!r} lies outside the file (truncated?)")
        tensors[name] = info
    _check_covered(path, tensors, base, size)
    return tensors


def _check_covered(path: Path, tensors: dict[str, TensorInfo], base: int, size: int) -> None:
    """Header and tensors must cover the file exactly, without gaps or overlaps (the
    safetensors format requires it, and PEFT refuses files that break it): appended or
    spliced bytes would otherwise leave the content id unchanged."""
    at = base
    for name, t in sorted(tensors.items(), key=lambda item: (item[1].start, item[1].end)):
        if t.start != at:
            what = (
                "overlaps the previous tensor" if t.start < at else f"leaves {t.start - at} unclaimed bytes before it"
            )
            raise IntegrityError(f"{path}: not a valid safetensors file: tensor {name!r} {what}")
        at = t.end
    if at != size:
        raise IntegrityError(
            f"{path}: not a valid safetensors file: {size - at} bytes after the last tensor are not covered "
            "by the header (appended or corrupted)"
        )


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by its POSIX path relative to the folder."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[path.relative_to(folder).as_posix()] = "symlink"  # never followed, never matches a hash
        elif path.is_file():
            h = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
            out[path.relative_to(folder).as_posix()] = h.hexdigest()
    return out


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{folder}: no {CONFIG} (not a PEFT adapter folder)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise IntegrityError(f"{path}: expected a JSON object")
    return config


def canonical_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with set-valued keys sorted, so equal configs serialise equally."""
    out = dict(config)
    for key in _SET_KEYS:
        if isinstance(out.get(key), list):
            out[key] = sorted(out[key])
    return out


def config_text(config: dict[str, Any]) -> str:
    """How a version folder stores its config: canonical, sorted, readable."""
    return json.dumps(canonical_config(config), indent=2, sort_keys=True) + "\n"


def content_id(folder: Path) -> str:
    """sha256 over the adapter config and every tensor's name, dtype, shape and bytes."""
    config = {k: v for k, v in canonical_config(read_config(folder)).items() if k not in _NOT_HASHED}
    weights = folder / WEIGHTS
    tensors = read_header(weights)
    h = hashlib.sha256(_ID_DOMAIN)
    h.update(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    with weights.open("rb") as f:
        for name in sorted(tensors):
            t = tensors[name]
            h.update(f"\0{name}\0{t.dtype}\0{list(t.shape)}\0{t.end - t.start}\0".encode())
            f.seek(t.start)
            left = t.end - t.start
            while left:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    raise IntegrityError(f"{weights}: truncated inside tensor {name!r}")
                h.update(chunk)
                left -= len(chunk)
    return h.hexdigest()


def check_folder(folder: Path) -> None:
    """A PEFT adapter folder in safetensors format; pickled weights are refused, never loaded."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    if not (folder / CONFIG).is_file():
        raise UsageError(f"{folder}: no {CONFIG} (not a PEFT adapter folder)")
    if not (folder / WEIGHTS).is_file():
        pickled = [p for p in PICKLED if (folder / p).exists()]
        if pickled:
            raise UsageError(
                f"{folder / pickled[0]}: pickled weights are never loaded (they can run code); "
                "save the adapter with safe_serialization=True to get adapter_model.safetensors"
            )
        raise UsageError(f"{folder}: no {WEIGHTS}")
    read_header(folder / WEIGHTS)  # a malformed file is refused here, before anything is copied


# ── shapes against the base ───────────────────────────────────────────────────


def base_tensors(base_dir: Path) -> dict[str, TensorInfo]:
    """Tensors of every safetensors shard of a base model folder (headers only)."""
    out: dict[str, TensorInfo] = {}
    for shard in sorted(base_dir.glob("*.safetensors")):
        out.update(read_header(shard))
    return out


def shape_problems(adapter: dict[str, TensorInfo], base: dict[str, TensorInfo]) -> list[str]:
    """Adapter tensors whose target module is missing from the base or has other dimensions."""
    problems = []
    for name, t in sorted(adapter.items()):
        module, kind = _split_peft_name(name)
        if kind is None:
            continue
        target = base.get(f"{module}.weight")
        if target is None:
            problems.append(f"{name}: the base has no module {module}")
            continue
        if len(target.shape) != 2 or (len(t.shape) != 2 and kind != "magnitude"):
            continue  # conv and other layouts: not checked
        out_f, in_f = target.shape
        expected = {
            "lora_A": (None, in_f),
            "lora_B": (out_f, None),
            "lora_embedding_A": (None, out_f),  # embeddings are (num_embeddings, dim)
            "lora_embedding_B": (in_f, None),
            "full": (out_f, in_f),
            "magnitude": (out_f,),
        }[kind]
        if len(expected) != len(t.shape) or any(
            e is not None and e != s for e, s in zip(expected, t.shape, strict=True)
        ):
            problems.append(f"{name}: shape {list(t.shape)} does not fit base {module} {list(target.shape)}")
    return problems


def _split_peft_name(name: str) -> tuple[str, str | None]:
    """'base_model.model.model.layers.0.q_proj.lora_A.weight' → ('model.layers.0.q_proj', 'lora_A')."""
    core = name.removeprefix("base_model.model.")
    for marker in ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B"):
        if f".{marker}." in f"{core}." or core.endswith(f".{marker}"):
            return core.split(f".{marker}")[0], marker
    if core.endswith(".lora_magnitude_vector") or ".lora_magnitude_vector." in core:
        return core.split(".lora_magnitude_vector")[0], "magnitude"
    if core.endswith(".weight") and ".lora_" not in core:
        return core.removesuffix(".weight"), "full"  # modules_to_save: a full copy of the module
    return core, None
