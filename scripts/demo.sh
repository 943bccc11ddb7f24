#!/usr/bin/env bash
# The main job end to end on the built-in tiny model, offline. Usage: scripts/demo.sh [DIR]
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 DVC_NO_ANALYTICS=1
dir=${1:-$(mktemp -d)/demo}
remote="$(dirname "$dir")/remote"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step adapterctl init "$dir" --example --remote "$remote"
cd "$dir"
step adapterctl validate
step adapterctl list
step adapterctl show support
echo
echo "demo project left in $dir"
