"""The output folder of a merge: all or nothing.

Shards are written into a hidden folder beside the destination and renamed into place at
the very end. If the process dies before then, even by SIGKILL, a small janitor process
removes the hidden folder: it waits on a pipe whose only writer is the merging process,
and the kernel closes that pipe however the merge ends. Folders a janitor could not remove
(a power cut) are swept by the next merge into the same place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapterctl.core.errors import UsageError
from adapterctl.core.project import process_alive
from adapterctl.store import fingerprints

PARTIAL = ".partial-"
COPIED = ("config.json", "generation_config.json", *fingerprints.TOKENIZER_FILES)
# Reads until EOF (the merging process is gone or done), then removes the folder if it is still there.
_JANITOR = "import shutil, sys; sys.stdin.buffer.read(); shutil.rmtree(sys.argv[1], ignore_errors=True)"


def check_destination(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: already exists; choose a new folder or remove it first")


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A hidden folder beside `out` that becomes `out` when `publish` is called inside the block,
    and is removed otherwise (exception, Ctrl-C or the process being killed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(out)
    tmp = out.parent / f".{out.name}{PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    janitor = subprocess.Popen(
        [sys.executable, "-c", _JANITOR, str(tmp)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when published
        assert janitor.stdin is not None
        janitor.stdin.close()
        janitor.wait()


def publish(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place (an empty destination folder is replaced)."""
    check_destination(out)
    if out.is_dir():
        out.rmdir()
    os.replace(tmp, out)


def sweep_stale(out: Path) -> list[Path]:
    """Remove hidden partial folders for `out` whose merging process no longer runs."""
    removed = []
    for folder in out.parent.glob(f".{out.name}{PARTIAL}*"):
        pid = folder.name.removeprefix(f".{out.name}{PARTIAL}").split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def copy_model_files(base_dir: Path, tmp: Path, dtype: str) -> list[str]:
    """Config (with the output dtype), generation config, tokenizer files and remote code."""
    copied = []
    for name in COPIED:
        if (base_dir / name).is_file():
            shutil.copyfile(base_dir / name, tmp / name)
            copied.append(name)
    for code in sorted(base_dir.glob("*.py")):  # trust_remote_code models need their modelling files
        shutil.copyfile(code, tmp / code.name)
        copied.append(code.name)
    config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    keys = [k for k in ("dtype", "torch_dtype") if k in config] or ["dtype"]
    config.update({k: dtype for k in keys})
    # Plain writes inside the hidden folder: the rename of the whole folder is the atomic step.
    (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return copied


def write_card(tmp: Path, info: dict[str, Any]) -> None:
    """README.md: a Hugging Face model card naming the version, the base and the merge options."""
    verify = info.get("verification") or {}
    lines = [
        "---",
        f"base_model: {info['base']}",
        "library_name: transformers",
        "tags: [adapterctl, lora, merged]",
        "---",
        "",
        f"# {info['name']} merged into {info['base']}",
        "",
        (
            f"This folder is the base model with the LoRA adapter version **{info['name']}@{info['id'][:12]}** "
            "merged into its weights by `adapterctl merge`. It loads with `AutoModelForCausalLM.from_pretrained`."
        ),
        "",
        "| | |",
        "|---|---|",
        f"| adapter | {info['name']} |",
        f"| version id | `{info['id']}` |",
        f"| base model | {info['base']} |",
        f"| base revision | {info.get('revision') or '(local folder)'} |",
        f"| base weights sha256 | `{info.get('base_hash') or 'unknown'}` |",
        f"| LoRA variant | {info['variant']} |",
        f"| merged into | {info['into_text']} |",
        f"| dtype | {info['dtype']} |",
        f"| shards | {info['shards']} |",
        f"| verification | {_verify_text(verify)} |",
        f"| adapterctl | {info['adapterctl']} |",
        "",
        "Merge options, as JSON:",
        "",
        "```json",
        json.dumps({k: info[k] for k in ("name", "id", "base", "revision", "into", "dtype", "variant")}, indent=2),
        "```",
        "",
    ]
    (tmp / "README.md").write_text("\n".join(lines), encoding="utf-8")


def _verify_text(verify: dict[str, Any]) -> str:
    if not verify:
        return "skipped (--no-verify)"
    return (
        f"passed: max abs logit difference {verify['max_abs_diff']:.3g} (tolerance {verify['tolerance']:.3g}), "
        f"top-1 agreement {verify['top1_agreement']:.1%} over {verify['tokens']} tokens of {verify['prompts']} prompts"
    )


def output_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())
