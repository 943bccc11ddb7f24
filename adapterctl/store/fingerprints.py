"""Fingerprints of a version's inputs: data files (md5 as DVC computes it), the base model's
weight files and its tokenizer (sha256). Row counting lives in rowcount.py, finding the base's
folder in base_files.py.

Hashing a multi-GB base on every `status` would be slow, so what is learnt about a file is
cached in .adapterctl/files.json keyed by path, size and mtime: a file that changes gets
looked at again. Version cards are cached there too (JSON loads far faster than TOML parses).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapterctl.core import ui
from adapterctl.core.project import Project, atomic_write
from adapterctl.store import base_files, rowcount

_CHUNK = 1 << 20
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
)


class FileCache:
    """Facts about files (digests, row counts, parsed cards), remembered while the file's size
    and mtime stay put."""

    def __init__(self, project: Project):
        self.path = project.state_dir / "files.json"
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        with contextlib.suppress(FileNotFoundError, ValueError):
            self.entries = json.loads(self.path.read_text()).get("files", {})

    def _entry(self, path: Path) -> dict[str, Any]:
        st = path.stat()
        key = str(path.resolve())
        entry = self.entries.get(key)
        if not entry or entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
            entry = self.entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
            self.dirty = True
        return entry

    def memo(self, path: Path, key: str, compute: Callable[[Path], Any]) -> Any:
        """`compute(path)`, or what it returned last time if the file has not changed since.
        Values must be JSON; others are recomputed every time."""
        entry = self._entry(path)
        if key in entry:
            return entry[key]
        value = compute(path)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return value
        entry[key] = value
        self.dirty = True
        return value

    def digest(self, path: Path, algo: str = "md5") -> str:
        return self.memo(path, algo, lambda p: file_digest(p, algo))

    def rows(self, path: Path) -> int | None:
        return self.memo(path, "rows", rowcount.count_rows)

    def save(self) -> None:
        if self.dirty:  # a lost race only costs a rehash later
            atomic_write(self.path, json.dumps({"files": self.entries}, indent=1))
            self.dirty = False


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def base_fingerprint(project: Project, model: str, revision: str | None, cache: FileCache) -> dict[str, str]:
    """model, revision, and sha256 fingerprints of the weight and tokenizer files. A base that
    is not on this machine cannot be hashed: both hashes are "" and `hash_unknown` says why
    (once per process, a warning says so too, since a card written now cannot prove its base)."""
    folder = base_files.locate_base(project, model, revision)
    out = {"model": model, "revision": revision or "", "hash": "", "tokenizer_hash": ""}
    if folder is not None:
        out["hash"], out["tokenizer_hash"] = model_hashes(folder, cache)
        return out
    out["hash_unknown"] = base_files.why_missing(project, model)
    if (model, revision or "") not in _warned:
        _warned.add((model, revision or ""))
        ui.warn(f"base {model}: {out['hash_unknown']}, so its weights cannot be hashed or compared")
    return out


_warned: set[tuple[str, str]] = set()  # (model, revision) already warned about in this process


def model_hashes(folder: Path, cache: FileCache) -> tuple[str, str]:
    """(weights hash, tokenizer hash) of a model folder: sha256 over its files' sha256s."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    weights = [p for p in files if p.suffix in WEIGHT_SUFFIXES]
    tokenizer = [p for p in files if p.name in TOKENIZER_FILES]
    return _combined(weights, cache), _combined(tokenizer, cache)


def _combined(paths: list[Path], cache: FileCache) -> str:
    if not paths:
        return ""
    h = hashlib.sha256()
    for p in paths:
        h.update(f"{p.name}\0{cache.digest(p, 'sha256')}\n".encode())
    return h.hexdigest()
