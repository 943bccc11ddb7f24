#!/usr/bin/env bash
# Issue 13's GPU acceptance in one run on the H200 device machine (about 5-8 minutes):
# install the wheels the image lacks, run `pytest -m gpu tests/gpu`, then bench/gpu_train.py
# (recipe vs tuned TRL peer vs naive, short and long rows, MFU against an in-process matmul).
#
# Before the run, on the development machine, from the project root:
#   bash ../shared/tools/device-wheels.sh liger-kernel==0.8.5     # fills .whl/ (~40 MB)
# Then with the device tool (`.whl` in carry if git ignores it there), timeout_s 600:
#   bash bench/device_check.sh
# Results come back under $OUT: env.txt, pytest.log, bench.json, bench.txt.
set -uo pipefail
OUT=${OUT:-/tmp/device_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if ! ls .whl/*.whl >/dev/null 2>&1; then
  echo "no wheels in .whl/: run 'bash ../shared/tools/device-wheels.sh liger-kernel==0.8.5' first" | tee "$OUT/env.txt"
  exit 2
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  >"$OUT/install.log" 2>&1 || { tail -20 "$OUT/install.log"; exit 3; }
export PYTHONPATH=/tmp/site:$PWD

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.sm --format=csv
  python3 - <<'PY'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())
for name in ("transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "liger_kernel", "flash_attn",
             "triton"):
    try:
        m = importlib.import_module(name)
        print(name, getattr(m, "__version__", "?"), m.__file__)
    except Exception as exc:
        print(name, "missing:", type(exc).__name__, exc)
from adapterctl.train import attention
print("torch varlen available:", attention.torch_varlen_available())
print("kernel chosen for cuda/bf16:", attention.choose("cuda", "bfloat16"))
PY
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# 1. The GPU tests (the bench's smoke run is one of them).
timeout 240 python3 -m pytest -m gpu tests/gpu -q -p no:cacheprovider -rs 2>&1 | tee "$OUT/pytest.log"
tests=${PIPESTATUS[0]}

# 2. The bench: 7B nf4 shape, 10 measured steps per arm, 8192 tokens per step.
timeout 330 python3 bench/gpu_train.py --steps 10 --tokens-per-step 8192 --json-out "$OUT/bench.json" \
  2>"$OUT/bench.err" | tee "$OUT/bench.txt"
bench=${PIPESTATUS[0]}
tail -30 "$OUT/bench.err"

echo "pytest exit $tests, bench exit $bench"
[ "$tests" = 0 ] && [ "$bench" = 0 ]
