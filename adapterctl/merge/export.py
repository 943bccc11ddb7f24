"""`adapterctl export`: a version as a plain PEFT folder, a merged model, or a vLLM LoRA module.

vLLM serves LoRA adapters at runtime (`--enable-lora`), within limits: `--max-lora-rank`
takes one of a fixed set of values, and only LoRA A/B weights of linear layers load, so
full modules (modules_to_save), adapted lm_head or embedding layers, DoRA and LoRA biases
are refused there. Every limit is checked before anything is written, and each one that
fails is named.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core.errors import CheckFailed, IntegrityError, UsageError
from adapterctl.core.project import Project
from adapterctl.merge import output, plan
from adapterctl.store import base_files, weights

FORMATS = ("peft", "merged", "vllm")
CHAT_TEMPLATE = "chat_template.jinja"  # in a vllm export: the version's prompt format, for --chat-template
VLLM_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
_EMBEDDING_NAMES = ("lm_head", "embed_tokens", "wte", "wpe", "embed_out", "word_embeddings", "tok_embeddings")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ExportResult:
    ref: str
    name: str
    id: str
    format: str
    out: Path
    files: list[str]
    checks: list[Check] = field(default_factory=list)
    command: str | None = None  # how to serve it (vllm)
    merge: Any = None  # merger.MergeResult for --format merged


def export(
    project: Project,
    ref: str,
    fmt: str,
    out: Path,
    *,
    dtype: str | None = None,
    verify: bool = True,
    progress: bool = True,
) -> ExportResult:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    out = Path(out).expanduser().resolve()
    if fmt == "merged":
        from adapterctl.merge import merger

        result = merger.merge_version(project, ref, out, dtype=dtype, verify=verify, progress=progress)
        return ExportResult(result.ref, result.name, result.id, fmt, result.out, result.files, merge=result)
    if dtype is not None:
        raise UsageError(f"--dtype applies to --format merged; a {fmt} export keeps the version's own weights")
    output.check_destination(out)
    version = versions.resolve(project, ref, verify=True)
    versions.card_base(project, version).admit(version)  # what an engine will put it on, and sound
    checks: list[Check] = []
    command = None
    if fmt == "vllm":
        checks = vllm_checks(weights.read_config(version.path), weights.read_header(version.path / weights.WEIGHTS))
        failed = [c for c in checks if not c.ok]
        if failed:
            raise CheckFailed(
                f"{version.ref} cannot be served by vLLM: "
                + "; ".join(f"{c.name}: {c.detail}" for c in failed)
                + f" (nothing was written to {out})"
            )
    template = chat_template(project, version) if fmt == "vllm" else None
    files = _copy_verified(version, out, template)
    if fmt == "vllm":
        command = serve_command(project, version, out, checks)
    return ExportResult(version.ref, version.name, version.id, fmt, out, files, checks, command)


def chat_template(project: Project, version: versions.Version) -> str:
    """The version's prompt format as a chat template for vLLM (`--chat-template`): it renders a
    conversation into exactly the prompt training and eval used (data/prompts.py)."""
    from adapterctl import modeling
    from adapterctl.core import ui
    from adapterctl.data import prompts

    fmt = prompts.for_version(project, version, notice=ui.info)
    base = manifest.load(project.manifest_path).base
    source, _ = modeling.base_source(project, base)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        source, revision=base.revision or None, trust_remote_code=base.trust_remote_code
    )
    probe = tokenizer("x", add_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id is not None and bool(probe) and probe[0] == tokenizer.bos_token_id
    if fmt.kind == "chat" and not fmt.chat_template:  # an older chat card: the base tokenizer's own
        fmt = prompts.PromptFormat("chat", chat_template=tokenizer.chat_template or "")
    return prompts.to_jinja(fmt, bos=bos)


def _copy_verified(version: versions.Version, out: Path, template: str | None = None) -> list[str]:
    """The PEFT files, copied into a hidden folder, re-hashed against the version id, renamed into place."""
    with output.staging(out) as tmp:
        for name in (weights.CONFIG, weights.WEIGHTS):
            shutil.copyfile(version.path / name, tmp / name)
        if weights.content_id(tmp) != version.id:
            raise IntegrityError(f"{version.ref}: the exported copy does not hash to the version id; nothing written")
        if template is not None:
            (tmp / CHAT_TEMPLATE).write_text(template, encoding="utf-8")
        files = output.output_files(tmp)
        output.publish(tmp, out)
    return files


def max_rank(config: dict[str, Any]) -> int:
    return max([int(config.get("r", 8)), *map(int, (config.get("rank_pattern") or {}).values())])


def vllm_checks(config: dict[str, Any], tensors: dict[str, Any]) -> list[Check]:
    """vLLM's LoRA limits, each with a verdict and a reason."""
    rank = max_rank(config)
    serving_rank = next((r for r in VLLM_RANKS if r >= rank), None)
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    adapted = sorted({plan._split(name)[0] for name in tensors})
    embedded = sorted(
        {t for t in targets if t.split(".")[-1] in _EMBEDDING_NAMES}
        | {m for m in adapted if m.split(".")[-1] in _EMBEDDING_NAMES or "lora_embedding" in m}
    )
    variants = [k for k in plan.UNSUPPORTED_KEYS if config.get(k)]
    bias = config.get("bias", "none") != "none" or bool(config.get("lora_bias"))
    return [
        Check(
            "rank",
            serving_rank is not None,
            f"r={rank} → --max-lora-rank {serving_rank}"
            if serving_rank
            else f"r={rank} is above vLLM's largest --max-lora-rank ({VLLM_RANKS[-1]})",
        ),
        Check(
            "modules_to_save",
            not config.get("modules_to_save"),
            "none"
            if not config.get("modules_to_save")
            else f"{', '.join(config['modules_to_save'])}: vLLM loads LoRA weights only, not full modules",
        ),
        Check(
            "lm_head / embedding targets",
            not embedded,
            "none" if not embedded else f"{', '.join(embedded)}: vLLM does not load LoRA on these layers",
        ),
        Check(
            "DoRA",
            not config.get("use_dora"),
            "not used" if not config.get("use_dora") else "use_dora: vLLM serves plain LoRA only",
        ),
        Check("LoRA bias", not bias, "none" if not bias else "bias/lora_bias set: vLLM loads no LoRA biases"),
        Check(
            "LoRA variant",
            not variants and config.get("peft_type", "LORA") == "LORA",
            "plain LoRA" if not variants else f"{', '.join(variants)}: not a LoRA variant vLLM serves",
        ),
    ]


def serve_command(project: Project, version: versions.Version, out: Path, checks: list[Check]) -> str:
    """`vllm serve BASE --enable-lora --lora-modules NAME=DIR --max-lora-rank R` for this export."""
    import shlex

    base = version.card.base.model or manifest.load(project.manifest_path).base.model
    revision = version.card.base.revision
    folder = base_files.locate_base(project, base, revision or None)
    local = (project.root / base).is_dir()
    model = str(folder.resolve()) if local and folder is not None else base
    rank = next(c.detail.split()[-1] for c in checks if c.name == "rank")
    parts = [
        "vllm",
        "serve",
        model,
        *(["--revision", revision] if revision and not local else []),
        "--enable-lora",
        "--lora-modules",
        f"{version.name}={out}",
        "--max-lora-rank",
        rank,
        "--chat-template",
        str(out / CHAT_TEMPLATE),
    ]
    return " ".join(shlex.quote(p) for p in parts)
