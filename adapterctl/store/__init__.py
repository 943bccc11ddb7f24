"""Layer 2, where state lives: DVC storage and remotes (and their errors, checks and
transfer progress), git, environment pointers, weight files, input fingerprints. Knows
nothing of versions, models or commands."""
