#!/usr/bin/env bash
# The prepared GPU check, run on a lent GPU machine in one call:
#   here first:   bash benchmarks/device/fetch_wheels.sh
#   then:         device run, command "bash benchmarks/device/check.sh", carry [".whl"], timeout_s 570
# It installs the carried wheels, runs the CUDA tests (pytest -m cuda), then
# `run_benchmarks.py --device-grid` (CUDA next to CPU and scikit-learn on that machine, CVXPY+Clarabel
# at 5000×200, the GPU targets: logistic 10⁶×1000 and the 100-alpha lasso path 10⁵×500).  Everything
# lands in $OUT: machine.txt, cuda_tests.log, bench.log, BENCHMARKS_GPU.md and .json; copy the last two
# into benchmarks/.  Without a GPU it still runs (CUDA rows read "pending"): a dry run of the script.
set -uo pipefail
cd "$(dirname "$0")/../.."
source benchmarks/device/setup_env.sh 150
timeout 400 $PY benchmarks/run_benchmarks.py --device-grid --models "${MODELS:-ridge,lasso,svm,logistic}" \
  --timeout 150 --path-timeout 150 \
  --output "$OUT/BENCHMARKS_GPU.md" > "$OUT/bench.log" 2>&1
echo "benchmarks: rc $?" >> "$OUT/machine.txt"
sed -n '/## Targets/,/^## ridge/p' "$OUT/BENCHMARKS_GPU.md" 2>/dev/null
cat "$OUT/machine.txt"
