"""Loading the base model a server or `generate` answers with, and the engine around it."""

from __future__ import annotations

from typing import Any

from adapterctl import versions
from adapterctl.serve.engine import Engine


def load_engine(project: Any, *, max_batch: int = 32, dev: str | None = None) -> Engine:
    """The manifest's base model, loaded once for inference: on a GPU in the precision the
    manifest declares (its dtype, and its quantization such as nf4), on a CPU in full precision."""
    from adapterctl import manifest, modeling

    declared = manifest.load(project.manifest_path)
    dev = dev or modeling.device()
    loaded = modeling.load_base(project, declared.base, serving_spec(declared, dev), for_training=False, dev=dev)
    loaded.tokenizer.padding_side = "left"
    from adapterctl.runtime.threads import cpu_threads

    # The thread policy eval generates under (a small model on one CPU thread): the same
    # arithmetic, so greedy answers equal the recorded eval outputs, and 5-20x faster when busy.
    cpu_threads(loaded.info.device, loaded.model)
    engine = Engine(loaded.model, loaded.tokenizer, max_batch=max_batch)
    engine.precision = {"device": dev, "dtype": loaded.key.dtype, "quantization": loaded.key.quantization}
    engine.admission = versions.manifest_base(project)
    return engine


def serving_spec(declared: Any, dev: str) -> Any:
    """The TrainSpec whose precision fields decide how the base loads for serving."""
    from adapterctl import manifest

    if dev == "cpu":
        return manifest.TrainSpec(quantization="none")
    train = declared.defaults.train
    return manifest.TrainSpec(
        quantization=train.quantization, double_quant=train.double_quant, compute_dtype=train.compute_dtype
    )
