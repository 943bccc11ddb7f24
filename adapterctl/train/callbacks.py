"""Trainer callbacks: the bridge from transformers' events to our progress sinks."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class ProgressCallback(TrainerCallback):
    """Forwards step counts and logged metrics (loss, eval_loss) to a ProgressSink, on rank 0 only."""

    def __init__(self, sink, adapter: str) -> None:
        self.sink = sink
        self.adapter = adapter
        self.started = False
        self.baseline: float | None = None  # val loss before training, shown as step 0

    def on_train_begin(self, args, state, control, **kwargs: Any):
        if state.is_world_process_zero:
            self.sink.start(self.adapter, state.max_steps, state.global_step)
            self.started = True
            if self.baseline is not None and state.global_step == 0:
                self.sink.update(0, {"eval_loss": self.baseline})

    def on_log(self, args, state, control, logs=None, **kwargs: Any):
        if self.started and logs:
            self.sink.update(state.global_step, logs)

    def on_train_end(self, args, state, control, **kwargs: Any):
        self.close()

    def close(self) -> None:
        if self.started:
            self.sink.finish()
            self.started = False
