#!/usr/bin/env bash
# The main job end to end on the built-in tiny model, offline, on a CPU:
# init → validate → data check → train (+ eval and gates) → deploy → combine → branch → train a
# second version → diff → a gate failure refused by deploy → report for the PR → deploy → rollback
# → resolve → merge → export → generate → serve prod in the background, deploy and roll back live,
# verify the live server against the recorded eval → the dashboard.
# Usage: scripts/demo.sh [DIR]   (ADAPTERCTL_DEMO_PORT picks the server's port, default 8765)
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 DVC_NO_ANALYTICS=1
dir=${1:-$(mktemp -d)/demo}
remote="$(dirname "$dir")/remote"
outputs="$(dirname "$dir")"  # merged models and exports go beside the project, not into git
scripts="$(cd "$(dirname "$0")" && pwd)"  # absolute: the demo cds into the project

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# A step whose exit code is part of what is shown (a gate check that may pass or fail).
judged() { printf '\n\033[1m$ %s\033[0m\n' "$*"; local rc=0; "$@" || rc=$?; echo "(exit code $rc)"; }
# A step that must fail (exit 1): the demo stops if it does not.
refused() { printf '\n\033[1m$ %s\033[0m   (expected to fail)\n' "$*"; if "$@"; then echo "demo: expected '$*' to fail" >&2; exit 1; fi; }

step adapterctl init "$dir" --example --remote "$remote"
cd "$dir"
step adapterctl validate
step adapterctl list
step adapterctl show support
step adapterctl data check support
step adapterctl train support -m "first cut"          # evaluates the new version and checks its gates
step python "$scripts/show_answer.py" support     # one eval row: the base model's answer, then the adapter's
step adapterctl eval support                           # stored beside the card: instant the second time
step adapterctl deploy support --env prod -m "ship the first cut"
step adapterctl train docs -m "docs assistant"
cat >> adapterctl.toml <<'EOF'

[adapters.both]
description = "support and docs in one adapter"
combine = ["support", "docs"]
method = "ties"
EOF
step adapterctl combine support docs --into both --method ties
git add -A && git commit -qm "support in prod, docs, both = ties(support, docs)" && echo "committed the versions, their eval results and environments/"

git checkout -qb smaller-rank
judged adapterctl train support --set lora.r=8 -m "smaller rank"   # exit 1 if it misses a gate (still registered)
step adapterctl log support
step adapterctl status
step adapterctl diff support@prod support

# A gate nobody can pass: eval exits 1, and deploy refuses the version until it passes (or --ignore-gates).
sed -i.bak '0,/rouge_l = ">= 0.3"/s//rouge_l = ">= 0.99"/' adapterctl.toml
refused adapterctl eval support
refused adapterctl deploy support --env prod
mv adapterctl.toml.bak adapterctl.toml
judged adapterctl eval support                         # judged again under the real gate (r=8 may miss it)
git add -A && git commit -qm "support: smaller rank" && echo "committed v2 on branch smaller-rank"

judged adapterctl check --base main                    # what CI runs: exit 1 if a new version failed
step adapterctl report --base main --format md --html "$outputs/report.html"
step adapterctl deploy support --env prod --ignore-gates -m "try the smaller rank"   # an override is logged
step adapterctl rollback support --env prod -m "back to the first cut"
step adapterctl envs --history
step adapterctl resolve support@prod
step adapterctl merge support@prod --out "$outputs/merged-support"
step adapterctl export support@prod --format vllm --out "$outputs/vllm-support"
git add -A && git commit -qm "demo: prod rolled back" && echo "committed environments/"
step adapterctl generate support@prod "Mateo here, locked out of my Keystone password manager account." \
  --system "Reply to the customer as a support agent." --max-tokens 48   # in the adapter's own prompt format

# Serve prod in the background (127.0.0.1 only); deploy and rollback reach it without a restart.
port=${ADAPTERCTL_DEMO_PORT:-8765}
url="http://127.0.0.1:$port"
log="$(dirname "$dir")/serve.log"
adapterctl serve --env prod --port "$port" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do  # bounded: up to 5 minutes for the imports and the base to load
  curl -sf "$url/healthz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
served() {  # POST a completion; print the X-Adapter-Version header and the answer
  local headers body
  headers=$(mktemp)
  body=$(curl -sS -D "$headers" "$url/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model": "support", "messages": [{"role": "system", "content": "Reply to the customer as a support agent."}, {"role": "user", "content": "Mateo here, locked out of my Keystone password manager account."}], "max_tokens": 40, "temperature": 0}')
  tr -d '\r' <"$headers" | grep -i '^x-adapter-version'
  python -c 'import json, sys; print("answer:", repr(json.loads(sys.argv[1])["choices"][0]["message"]["content"]))' "$body"
  rm -f "$headers"
}
step served
step adapterctl deploy support --env prod --ignore-gates -m "live: the smaller rank again"   # it missed its gate: forced, and logged
sleep 1
step served
step adapterctl rollback support --env prod -m "live: back to the first cut"
sleep 1
step served
step curl -sS "$url/healthz"
echo
step adapterctl verify --env prod --url "$url/v1" --limit 10   # the live answers equal what eval recorded
kill -TERM "$server" && wait "$server" && echo "server drained and stopped (log: $log)"
trap - EXIT
git add -A && git commit -qm "demo: live moves" && echo "committed environments/ (the live moves)"

# The dashboard: start it in the background, fetch the overview once, stop it.
ui_port=$((port + 1))
ui_log="$(dirname "$dir")/ui.log"
adapterctl ui --port "$ui_port" 2>"$ui_log" &
dashboard=$!
trap 'kill -TERM $dashboard 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ui_port/live" >/dev/null && break; sleep 0.2; done
step curl -sSf -o /dev/null -w 'adapterctl ui: overview HTTP %{http_code}, %{size_download} bytes\n' "http://127.0.0.1:$ui_port/"
kill -TERM "$dashboard" && wait "$dashboard" || true
trap - EXIT
echo
echo "demo project left in $dir; the PR report as one page in $outputs/report.html; merged model in $outputs/merged-support"
