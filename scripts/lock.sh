#!/usr/bin/env bash
# Regenerates constraints.txt from pyproject.toml's own dependency tree (every extra included),
# resolved by uv for every Python from 3.10 up (`--universal`: environment markers split the pins
# where a package dropped an old Python, e.g. transformers 5.21+ needs 3.11).
#
#   scripts/lock.sh                      # after adding or changing a dependency in pyproject.toml
#   scripts/lock.sh --upgrade            # move every pin to the newest release that resolves
#   scripts/lock.sh --upgrade-package X  # move one
#
# uv prefers the versions already in constraints.txt, so a re-lock moves only what it must.
# Metadata of sdist-only packages is built with the running Python (no interpreter download).
# torch stays pinned by scripts/lock-pins.txt: CI installs the CPU build of exactly that version first, and
# pip accepts 2.13.0+cpu for the pin torch==2.13.0. The nvidia-*/triton/cuda-* lines are torch's
# CUDA dependencies on Linux: constraints only, never installed unless a CUDA torch wheel asks.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v uv >/dev/null 2>&1 || python -m pip install -q uv

uv pip compile --no-python-downloads pyproject.toml --all-extras --universal --python-version 3.10 \
  --constraint scripts/lock-pins.txt --custom-compile-command "scripts/lock.sh" \
  --output-file constraints.txt "$@" >/dev/null
echo "wrote constraints.txt"
