"""Cross-field rules on a resolved adapter spec: what `train` would reject, caught by `validate`.

Each rule looks at the merged spec (defaults ⊕ adapter tables ⊕ --set) and, when it is
broken, returns the key to blame (`lora.init_lora_weights`) and one line of advice. The
manifest turns that into an error naming the file, line and full key path where the user
set the value. Rules that need runtime facts (the base folder's files, the number of rows
the validation split yields) stay in train/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from adapterctl.manifest.model import AdapterSpec


class Violation(NamedTuple):
    key: str  # "table.field", e.g. "lora.init_lora_weights"
    message: str


def _init_vs_quantization(spec: AdapterSpec) -> Violation | None:
    init, quantization = spec.lora.init_lora_weights, spec.train.quantization
    if init == "pissa" and quantization != "none":
        return Violation(
            "lora.init_lora_weights",
            f"pissa needs a full-precision base (it factorises the base weights), but train.quantization is "
            f'"{quantization}"; set train.quantization = "none" or use init_lora_weights = "olora"',
        )
    if init == "loftq" and quantization not in ("nf4", "fp4"):
        return Violation(
            "lora.init_lora_weights",
            f'loftq initialises against a 4-bit base, but train.quantization is "{quantization}"; '
            'set train.quantization = "nf4"',
        )
    return None


def _early_stopping(spec: AdapterSpec) -> Violation | None:
    """Early stopping judges val loss at each eval and keeps the best checkpoint: it needs a
    validation set, and checkpoints that fall on evals."""
    train = spec.train
    if train.early_stopping_patience <= 0:
        return None
    every = train.checkpoint_steps
    if every is not None and every % train.eval_steps:
        return Violation(
            "train.checkpoint_steps",
            f"checkpoint_steps = {every} must be a multiple of train.eval_steps = {train.eval_steps} with early stopping "
            "(the best checkpoint is kept and loaded at the end)",
        )
    if spec.val_data is None and train.val_split == 0:
        return Violation(
            "train.early_stopping_patience",
            "early_stopping_patience needs val loss, but there is no validation set: set train.val_split > 0 "
            "or the adapter's val_data",
        )
    return None


def _gates_on_computed_metrics(spec: AdapterSpec) -> Violation | None:
    missing = [metric for metric in spec.gates if metric not in spec.eval.metrics]
    if missing:
        return Violation(
            "eval.metrics",
            f"the gate on {missing[0]} can never pass: eval.metrics = {list(spec.eval.metrics)} does not compute it; "
            f'add "{missing[0]}" to eval.metrics or drop the gate',
        )
    return None


RULES: tuple[Callable[[AdapterSpec], Violation | None], ...] = (
    _init_vs_quantization,
    _early_stopping,
    _gates_on_computed_metrics,
)


def violations(spec: AdapterSpec) -> list[Violation]:
    """Every broken rule, in a stable order."""
    return [v for rule in RULES if (v := rule(spec)) is not None]
