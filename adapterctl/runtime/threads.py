"""CPU thread policy for small models, shared by training and eval."""

from __future__ import annotations

import os

SMALL_MODEL_PARAMS = 50_000_000


def cpu_threads(dev: str, model) -> int | None:
    """On a CPU, run a small model on one thread; returns the thread count to restore after.

    Its matmuls are too small to split, and OpenMP threads that wait on each other (worse
    on a busy machine) made a tiny-model step 5-20x slower than one thread in our runs.
    OMP_NUM_THREADS, when set, is the user's choice and is left alone.
    """
    import torch

    if dev != "cpu" or os.environ.get("OMP_NUM_THREADS") or torch.get_num_threads() == 1:
        return None
    if sum(p.numel() for p in model.parameters()) >= SMALL_MODEL_PARAMS:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    return previous
