"""Training: jobs (job.py: what to train, kept in run.json) and run options (options.py: how,
chosen by each command), the runner that trains and registers them (runner.py, runs.py), the
SFT recipe and what it is made of (LoRA and trainer config, attention, batching, the memory
plan, callbacks, progress, loss curve, saving), the accelerate launcher and sweeps.

Importing this package, or any module of it but callbacks.py, imports nothing heavy: torch and
friends are imported inside the functions that need them. callbacks.py subclasses transformers'
TrainerCallback, so only the recipe imports it, inside a function. What training shares with
eval, merge and serve (quieting library noise, the k-bit precision policy, CPU threads) is the
model runtime, adapterctl/runtime/ (layer 4 of DESIGN.md §5), which train/ uses but never owns.
"""
