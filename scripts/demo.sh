#!/usr/bin/env bash
# The main job end to end on the built-in tiny model, offline, on a CPU:
# init → validate → data check → train → log → deploy → combine → train a second version → deploy → rollback
# → resolve → merge → export.
# Usage: scripts/demo.sh [DIR]
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 DVC_NO_ANALYTICS=1
dir=${1:-$(mktemp -d)/demo}
remote="$(dirname "$dir")/remote"
outputs="$(dirname "$dir")"  # merged models and exports go beside the project, not into git

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step adapterctl init "$dir" --example --remote "$remote"
cd "$dir"
step adapterctl validate
step adapterctl list
step adapterctl show support
step adapterctl data check support
step adapterctl train support -m "first cut"
step adapterctl deploy support --env prod -m "ship the first cut"
step adapterctl train docs -m "docs assistant"
cat >> adapterctl.toml <<'EOF'

[adapters.both]
description = "support and docs in one adapter"
combine = ["support", "docs"]
method = "ties"
EOF
step adapterctl combine support docs --into both --method ties
step adapterctl train support --set lora.r=8 -m "smaller rank"
step adapterctl log support
step adapterctl status
step adapterctl deploy support --env prod -m "try the smaller rank"
step adapterctl rollback support --env prod -m "back to the first cut"
step adapterctl envs --history
step adapterctl resolve support@prod
step adapterctl merge support@prod --out "$outputs/merged-support"
step adapterctl export support@prod --format vllm --out "$outputs/vllm-support"
git add -A && git commit -qm "demo: support (two versions, prod rolled back), docs, both = ties(support, docs)" && echo "committed the versions and environments/"
echo
echo "demo project left in $dir; merged model in $outputs/merged-support"
