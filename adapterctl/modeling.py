"""Loading the base model: a hub id at its pinned revision, or a local folder, quantised or
not. Eval and serve put versions on top of it with PEFT (evaluation/runner.py, serve/batch.py).

bitsandbytes runs nf4/fp4/int8 on CPUs too (0.46+), so QLoRA is the same path everywhere.
Where it cannot run, the base loads in full precision with one notice that the caller
records in the version card: never a silent change of what was declared.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapterctl.core import ui
from adapterctl.core.errors import ManifestError, StorageError
from adapterctl.core.project import Project
from adapterctl.manifest import BaseSection, TrainSpec
from adapterctl.store import storage

DISABLE_BNB_ENV = "ADAPTERCTL_NO_BITSANDBYTES"  # set to 1 to train without bitsandbytes


@dataclass(frozen=True)
class BaseKey:
    """Everything that decides how a base loads: two specs with equal keys share one load."""

    source: str  # local folder (absolute) or hub id
    revision: str | None
    quantization: str  # what was *used*: nf4 | fp4 | int8 | none
    double_quant: bool
    compute_dtype: str
    dtype: str
    device: str
    trust_remote_code: bool


@dataclass
class BaseInfo:
    """What the version card records about the base it was trained on."""

    model: str  # as the manifest names it
    revision: str | None
    source: str  # "local" | "hub"
    commit: str | None  # the hub commit actually loaded
    dtype: str
    device: str
    quantization: dict[str, Any] = field(default_factory=dict)
    attn_implementation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedBase:
    model: Any
    tokenizer: Any
    key: BaseKey
    info: BaseInfo
    precision: str | None = None  # how a k-bit base was prepared for training (precision.prepare_kbit)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def base_source(project: Project, base: BaseSection) -> tuple[str, str]:
    """(where to load from, "local" | "hub"). A folder that exists, or any path-like name, is local."""
    candidate = (project.root / base.model).resolve()
    if candidate.is_dir():
        return str(candidate), "local"
    if storage.dvc_file(candidate).exists():
        raise StorageError(f"base model folder {base.model} is not here{storage.not_pulled_hint(candidate)}")
    if base.model.startswith((".", "/", "~")) or base.model.count("/") > 1:  # hub ids are NAME or ORG/NAME
        raise ManifestError(f"base.model {base.model!r}: no such folder in {project.root}")
    return base.model, "hub"


def _torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def resolve_dtypes(train: TrainSpec, base: BaseSection, dev: str) -> tuple[str, str]:
    """(weight dtype, compute dtype) with "auto" decided for the device: 16-bit on GPUs, fp32 on CPUs."""
    import torch

    gpu16 = "bfloat16" if dev == "cuda" and torch.cuda.is_bf16_supported() else "float16"
    weight = base.dtype if base.dtype != "auto" else ("float32" if dev == "cpu" else gpu16)
    compute = train.compute_dtype if train.compute_dtype != "auto" else ("float32" if dev == "cpu" else gpu16)
    return weight, compute


@functools.lru_cache(maxsize=4)
def bitsandbytes_problem(dev: str) -> str | None:
    """Why bitsandbytes cannot quantise on `dev`, or None when it can (tried once per process)."""
    if os.environ.get(DISABLE_BNB_ENV, "") not in ("", "0"):
        return f"bitsandbytes disabled by {DISABLE_BNB_ENV}"
    try:
        from adapterctl.runtime.quiet import quiet

        with quiet():
            import bitsandbytes.functional as bnbf
            import torch

            probe = torch.randn(64, 64, device=dev)
            packed, state = bnbf.quantize_4bit(probe, quant_type="nf4")
            restored = bnbf.dequantize_4bit(packed, state)
            if not torch.isfinite(restored).all():
                return "bitsandbytes 4-bit round trip produced non-finite values"
    except Exception as exc:  # noqa: BLE001 - ImportError, a missing native library, an unsupported device...
        return f"bitsandbytes cannot run on {dev}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def quantization_config(train: TrainSpec, dev: str, compute_dtype: str) -> tuple[Any, dict[str, Any]]:
    """(BitsAndBytesConfig or None, the card's quantization record)."""
    record: dict[str, Any] = {"requested": train.quantization, "used": train.quantization}
    if train.quantization == "none":
        return None, record
    problem = bitsandbytes_problem(dev)
    if problem:
        record.update(
            used="none", notice=f"{problem}; trained on a full-precision base instead of {train.quantization}"
        )
        return None, record
    from transformers import BitsAndBytesConfig

    if train.quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True), record
    record.update(double_quant=train.double_quant, compute_dtype=compute_dtype)
    extra = {}
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        # FSDP shards flat tensors of one dtype: store the packed 4-bit weights in the compute dtype.
        extra["bnb_4bit_quant_storage"] = _torch_dtype(compute_dtype)
        record["quant_storage"] = compute_dtype
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=train.quantization,
        bnb_4bit_use_double_quant=train.double_quant,
        bnb_4bit_compute_dtype=_torch_dtype(compute_dtype),
        **extra,
    ), record


def base_key(project: Project, base: BaseSection, train: TrainSpec, dev: str | None = None) -> BaseKey:
    dev = dev or device()
    source, _ = base_source(project, base)
    weight, compute = resolve_dtypes(train, base, dev)
    used = train.quantization if train.quantization == "none" or not bitsandbytes_problem(dev) else "none"
    return BaseKey(source, base.revision, used, train.double_quant, compute, weight, dev, base.trust_remote_code)


def load_base(
    project: Project,
    base: BaseSection,
    train: TrainSpec,
    *,
    for_training: bool = True,
    dev: str | None = None,
    device_index: int | None = None,
) -> LoadedBase:
    """The base model and tokenizer as `base` and `train` declare them.

    For training, a k-bit base is frozen by `precision.prepare_kbit` (no float32 residual
    stream under 16-bit compute); gradient checkpointing is left to the recipe.
    """
    from adapterctl.runtime.quiet import quiet

    dev = dev or device()
    source, kind = base_source(project, base)
    weight, compute = resolve_dtypes(train, base, dev)
    bnb, qrecord = quantization_config(train, dev, compute)
    if "notice" in qrecord:
        ui.warn(qrecord["notice"])
    if kind == "hub" and not base.revision:
        ui.warn(
            f"base.revision is not set: {base.model} loads at whatever its main branch is today "
            "(the commit used is recorded in the card; pin it in adapterctl.toml)"
        )
    target = f"{dev}:{device_index}" if device_index is not None and dev != "cpu" else dev
    kwargs: dict[str, Any] = {
        "revision": base.revision if kind == "hub" else None,
        "trust_remote_code": base.trust_remote_code,
        "dtype": _torch_dtype(weight),
    }
    with quiet():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(
                source, revision=kwargs["revision"], trust_remote_code=base.trust_remote_code
            )
            if bnb is not None:
                model = AutoModelForCausalLM.from_pretrained(
                    source, quantization_config=bnb, device_map={"": target}, **kwargs
                )
            else:
                model = AutoModelForCausalLM.from_pretrained(source, **kwargs).to(target)
        except OSError as exc:
            where = f"{source}@{base.revision}" if kind == "hub" and base.revision else source
            offline = " (the hub is unreachable and it is not in the local cache)" if kind == "hub" else ""
            raise StorageError(f"cannot load base model {where}{offline}: {str(exc).splitlines()[0]}") from None
        if bnb is not None and dev == "cpu":
            _keep_4bit_layout(model)
        if tokenizer.pad_token is None:  # Llama-style tokenizers ship without one
            tokenizer.pad_token = tokenizer.eos_token
        precision = None
        if for_training:
            model.config.use_cache = False  # a KV cache would also defeat padding-free masking
            if bnb is not None:
                from adapterctl.runtime.precision import prepare_kbit

                precision = prepare_kbit(model, compute)
        else:
            model.eval()
    info = BaseInfo(
        model=base.model,
        revision=base.revision,
        source=kind,
        commit=_hub_commit(source, base.revision) if kind == "hub" else None,
        dtype=weight,
        device=dev,
        quantization=qrecord,
        attn_implementation=getattr(model.config, "_attn_implementation", None),
    )
    key = BaseKey(
        source, base.revision, qrecord["used"], train.double_quant, compute, weight, dev, base.trust_remote_code
    )
    return LoadedBase(model, tokenizer, key, info, precision)


def _keep_4bit_layout(model) -> None:
    """Stop bitsandbytes repacking 4-bit weights in place on AVX512-BF16 CPUs.

    On such CPUs its first no-grad eval-mode forward converts each weight to a CPU-packed
    layout with other numerics; training after an eval (val loss) then drifts, and a base
    shared by several adapters is no longer the base the next one would load."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def _hub_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit sha the hub files were loaded from (a branch or tag name resolves to one)."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return Path(cached).parent.name if isinstance(cached, str) else None
