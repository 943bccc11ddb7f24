"""Keep the libraries' own chatter away from users: our progress bar and notices are the
only output. Real errors still raise; `--traceback` users see everything they need."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

# Harmless messages the stack prints on every run (DESIGN §7): bitsandbytes' optional
# `kernels` module and its CPU gemv autograd note, deprecations inside the libraries, and
# TRL/transformers advice that the recipe already follows.
_NOISE = (
    r".*kernels.*",
    r".*gemv_4bit.*",
    r".*MatMul8bitLt.*",
    r".*is_gradient_checkpointing.*",
    r".*torch\.jit\.script_method.*",
    r".*use_cache=True.*",
    r".*padding-free.*",
    r".*num_items_in_batch.*",
    r".*changes the base weights.*",  # PiSSA/OLoRA: save.py converts those adapters to plain LoRA
)
_LOGGERS = ("transformers", "trl", "peft", "accelerate", "bitsandbytes", "datasets", "torch.distributed")
# Harmless log records that libraries emit outside any `quiet()` block, so they are dropped for
# the whole process: logger → message prefixes. bitsandbytes warns at import (which `from
# transformers import ...` can trigger, through peft) on AVX512-BF16 CPUs when the optional
# `kernels` package is missing, then uses its own CPU kernel (finding F2).
_LOG_NOISE = {
    "bitsandbytes.backends.cpu.ops": ("Failed to load CPU gemm_4bit_forward from kernels-community",),
}


class _DropKnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_LOG_NOISE.get(record.name, ()))


def drop_known_log_noise() -> None:
    """Install the filters for `_LOG_NOISE` (once per process; cheap, imports nothing heavy)."""
    for name in _LOG_NOISE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropKnownNoise) for f in logger.filters):
            logger.addFilter(_DropKnownNoise())


drop_known_log_noise()  # on import: the recipe and modeling import this before the libraries


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence known noise and library progress bars for the duration of the block."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    drop_known_log_noise()
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    bars = _progress_bars_off()
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            bars()


def _progress_bars_off():
    """Turn off transformers' and datasets' tqdm bars; returns a function restoring them."""
    restore = []
    try:
        from transformers.utils import logging as hf_logging

        if hf_logging.is_progress_bar_enabled():
            hf_logging.disable_progress_bar()
            restore.append(hf_logging.enable_progress_bar)
        previous = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        restore.append(lambda: hf_logging.set_verbosity(previous))
    except ImportError:  # pragma: no cover
        pass
    try:
        import datasets

        if datasets.is_progress_bar_enabled():
            datasets.disable_progress_bar()
            restore.append(datasets.enable_progress_bar)
    except ImportError:  # pragma: no cover
        pass

    def undo() -> None:
        for fn in restore:
            fn()

    return undo
