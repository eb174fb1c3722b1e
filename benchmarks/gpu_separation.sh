#!/usr/bin/env bash
# The full separation profile (CNN, LCN, FCN; d = 8 .. 256; 5 seeds) on one GPU, in one command.
#
# Usage: bash benchmarks/gpu_separation.sh [OUT_DIR] [TASK]      (defaults: runs/separation-gpu, patch-quadratic)
# with the project's environment active (or PYTHON=.venv/bin/python).
#
# Runs `python -m numerics separation --profile full` on CUDA in float32 with the in-process executor (one GPU,
# one process: the ensemble of seeds x learning rates is already one batched computation per point), prints the
# report, and writes the store, summary.json and plots under OUT_DIR. Rerunning with the same OUT_DIR resumes.
# The FCN's dense first layer grows like d^2 / 2 per member: if a point does not fit in GPU memory the sweep
# records the error for that point and goes on (the report lists it), so "FCN as far as it fits" needs no flag.
# Target: the whole profile within 10 minutes on one H200; the script prints the wall time. CPU stays the
# default everywhere else: this script is the only place that asks for CUDA, and it stops if none is present.
set -euo pipefail
out="${1:-runs/separation-gpu}"
task="${2:-patch-quadratic}"
py="${PYTHON:-python}"
"$py" - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_separation.sh: no CUDA device (torch.cuda.is_available() is False); run the CPU profile instead: "
             "python -m numerics separation --task patch-quadratic --profile full --out runs/separation")
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
PY
start=$(date +%s)
"$py" -m numerics separation --task "$task" --profile full --device cuda --dtype float32 --executor serial --out "$out"
echo "wall time: $(( $(date +%s) - start )) s (task $task, full profile, store $out)"
