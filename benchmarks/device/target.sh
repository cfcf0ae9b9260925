#!/usr/bin/env bash
# A short GPU call for the GPU target alone (after check.sh has run the whole device grid once):
#   here first:   bash benchmarks/device/fetch_wheels.sh
#   then:         device run, command "bash benchmarks/device/target.sh", carry [".whl"], timeout_s 300
# CUDA tests, then the target cell (logistic 10⁶×1000, mlopt-structured-cuda, as run_benchmarks.py runs
# it) into $OUT/target.json, then benchmarks/device/profile_target.py (copy routes for X, phase times,
# torch.profiler and cProfile tables, the setup's steps timed between device synchronizations) into
# $OUT/profile.txt; with KERNELS=1 also benchmarks/device/kernels.py into $OUT/kernels.txt, with
# CORRECTORS=1 benchmarks/device/correctors.py (LinearSVC, Gondzio correctors on vs off) into
# $OUT/correctors.txt.  SIZE=NxD changes the size (a dry run on a small one).
set -uo pipefail
cd "$(dirname "$0")/../.."
SIZE="${SIZE:-1000000x1000}"
source benchmarks/device/setup_env.sh 90
cat "$OUT/machine.txt"
timeout 100 $PY benchmarks/bench_one.py logistic "$SIZE" mlopt-structured-cuda > "$OUT/target.json"
echo "target cell: rc $?"
$PY - "$OUT/target.json" <<'PY'
import json, sys
lines = [ln for ln in open(sys.argv[1]).read().splitlines() if ln.startswith("{")]
if not lines:
    sys.exit("no target cell (see the error above)")
cell = json.loads(lines[-1])
print({k: cell[k] for k in ("time", "iterations", "status", "solver_gap", "certified_gap", "peak_rss_mb")})
print({k: round(v, 3) for k, v in (cell.get("timings") or {}).items()})
PY
n="${SIZE%x*}"; d="${SIZE#*x}"
timeout 120 $PY benchmarks/device/profile_target.py --n "$n" --d "$d" > "$OUT/profile.txt" 2>&1
echo "profile: rc $?"
grep -E "^(data|copy|fit|  [A-Za-z_])" "$OUT/profile.txt"
if [ -n "${CORRECTORS:-}" ]; then  # CORRECTORS=1: Gondzio correctors on vs off for LinearSVC on the GPU
  timeout 120 $PY benchmarks/device/correctors.py > "$OUT/correctors.txt" 2>&1
  echo "correctors: rc $?"; cat "$OUT/correctors.txt"
fi
if [ -n "${KERNELS:-}" ]; then  # KERNELS=1: also time the candidate kernels (benchmarks/device/kernels.py)
  timeout 150 $PY benchmarks/device/kernels.py --n "$n" --d "$d" > "$OUT/kernels.txt" 2>&1
  echo "kernels: rc $?"; cat "$OUT/kernels.txt"
fi
