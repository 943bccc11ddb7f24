"""The PEFT LoraConfig from an adapter's `lora` spec, checked against the actual model.

A `target_modules` entry that matches no module would make PEFT adapt fewer layers than
declared (or fail deep inside); here it is an error that lists the names that do exist.
"""

from __future__ import annotations

from typing import Any

from adapterctl.core.errors import ManifestError
from adapterctl.core.suggest import closest
from adapterctl.manifest import LoraSpec

# Init methods that rewrite the base weights (base ← base − initial adapter). Their adapters
# are converted to plain LoRA on save, and the base cannot be reused afterwards.
MUTATES_BASE = {"pissa", "olora"}


def linear_module_names(model) -> list[str]:
    """Short names (last path part) of the model's linear layers, quantised ones included."""
    import torch

    try:  # GPT-2 style models use Conv1D for their projections
        from transformers.pytorch_utils import Conv1D

        kinds: tuple[type, ...] = (torch.nn.Linear, Conv1D)
    except ImportError:  # pragma: no cover
        kinds = (torch.nn.Linear,)
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, kinds) and name}
    return sorted(names)


def _matches(entry: str, module_names: list[str]) -> bool:
    # PEFT's rule for a list of strings: a module matches when its full name equals the
    # entry or ends with "." + entry.
    return any(name == entry or name.endswith("." + entry) for name in module_names)


def check_targets(spec: LoraSpec, model, where: str = "lora") -> None:
    full_names = [name for name, _ in model.named_modules() if name]
    linear = linear_module_names(model)
    head = _output_head_name(model)
    if spec.target_modules != "all-linear":
        for entry in spec.target_modules:
            if head and (head == entry or head.endswith("." + entry)):
                # TRL computes the loss from the head's weight directly: a LoRA there never trains.
                raise ManifestError(
                    f"{where}.target_modules: {entry!r} is the output head, which LoRA cannot adapt under "
                    f'TRL\'s fused loss; train it fully with modules_to_save = ["{entry}"] instead'
                )
            if not _matches(entry, full_names):
                close = closest(entry, linear, cutoff=0.5)
                hint = f" (did you mean '{close}'?)" if close else ""
                raise ManifestError(
                    f"{where}.target_modules: {entry!r} matches no module of the base model{hint}; "
                    f"its linear modules are: {', '.join(linear)}"
                )
    for entry in spec.modules_to_save:
        if not _matches(entry, full_names):
            top = sorted({name.rsplit(".", 1)[-1] for name in full_names})
            raise ManifestError(
                f"{where}.modules_to_save: {entry!r} matches no module of the base model; "
                f"module names include: {', '.join(top[:30])}"
            )


def _output_head_name(model) -> str | None:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return next((name for name, module in model.named_modules() if module is head), None) if head is not None else None


def check_init(spec: LoraSpec, quantization: str, base_is_local_safetensors: bool, where: str = "lora") -> None:
    """Runtime half of the init rules: loftq needs the base's unquantised safetensors on disk.

    The quantisation rules (pissa needs a full-precision base, loftq a 4-bit one) are schema
    rules in adapterctl.manifest.rules, so `validate` reports them before any training starts.
    """
    if spec.init_lora_weights == "loftq" and not base_is_local_safetensors:
        raise ManifestError(
            f"{where}.init_lora_weights: loftq reads the unquantised weights from a local safetensors "
            "base folder; this base is not one"
        )
    if spec.init_lora_weights == "loftq":
        import torch

        if not torch.cuda.is_available():  # peft's LoftQ quantises on the GPU (it asserts CUDA)
            raise ManifestError(
                f"{where}.init_lora_weights: loftq needs a CUDA GPU and this machine has none; "
                'use "default" or "olora" here'
            )


def lora_config(spec: LoraSpec, model, task_type: str = "CAUSAL_LM", where: str = "lora"):
    """A peft.LoraConfig for `spec`, after checking its module names against `model`."""
    from peft import LoraConfig

    check_targets(spec, model, where)
    init: Any = {
        "default": True,
        "gaussian": "gaussian",
        "pissa": "pissa",
        "olora": "olora",
        # LoftQ on a bitsandbytes base: start from the default init, then
        # `apply_loftq` replaces the weights (see peft's replace_lora_weights_loftq).
        "loftq": True,
    }[spec.init_lora_weights]
    return LoraConfig(
        task_type=task_type,
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules if spec.target_modules == "all-linear" else list(spec.target_modules),
        bias=spec.bias,
        use_dora=spec.use_dora,
        use_rslora=spec.use_rslora,
        init_lora_weights=init,
        modules_to_save=list(spec.modules_to_save) or None,
    )


def apply_loftq(peft_model, base_folder: str) -> None:
    from peft import replace_lora_weights_loftq

    replace_lora_weights_loftq(peft_model, model_path=_safetensors_file(base_folder))


def _safetensors_file(folder: str) -> str:
    from pathlib import Path

    files = sorted(Path(folder).glob("*.safetensors"))
    if len(files) != 1:
        raise ManifestError(
            f"lora.init_lora_weights: loftq needs a single-file safetensors base; {folder} has {len(files)}"
        )
    return str(files[0])


def detach(peft_model):
    """Take the adapter out and return the base exactly as it was loaded.

    `PeftModel.unload()` keeps the *trained* copy of each modules_to_save module in the base,
    so a second adapter trained on a shared base would start from the first one's head.
    The original modules go back first; then unload removes the LoRA layers.
    """
    from peft.utils.other import AuxiliaryTrainingWrapper

    inner = peft_model.base_model.model
    for name, module in list(inner.named_modules()):
        if isinstance(module, AuxiliaryTrainingWrapper):
            parent_name, _, child = name.rpartition(".")
            setattr(inner.get_submodule(parent_name) if parent_name else inner, child, module.original_module)
    return peft_model.unload()
