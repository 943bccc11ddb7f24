"""Training: the SFT recipe and what it is made of (LoRA config, trainer config, callbacks,
progress, loss curve, runs and checkpoints, the accelerate launcher, sweeps).

Importing this package, or any module of it but callbacks.py, imports nothing heavy: torch and
friends are imported inside the functions that need them. callbacks.py subclasses transformers'
TrainerCallback, so only the recipe imports it, inside a function. What training shares with
eval, merge and serve (quieting library noise, the k-bit precision policy, CPU threads) is the
model runtime, adapterctl/runtime/ (layer 4 of DESIGN.md §5), which train/ uses but never owns.
"""
