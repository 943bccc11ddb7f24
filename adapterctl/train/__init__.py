"""Training: the SFT recipe and what it is made of (LoRA config, trainer config, callbacks,
progress, loss curve, runs and checkpoints, the accelerate launcher, sweeps).

Nothing heavy is imported here; each module imports torch and friends inside functions.
"""
