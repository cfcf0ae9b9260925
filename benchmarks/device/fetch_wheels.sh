#!/usr/bin/env bash
# Run HERE (a machine with pip access), before benchmarks/device/check.sh runs on a lent GPU machine.
# That machine's image has Python 3.12, torch, numpy, scipy, scikit-learn, pytest and hypothesis, but
# not CVXPY and its solvers, and it cannot download: this puts their wheels in .whl/ (git-ignored),
# which the device call carries (carry=[".whl"]).  About 21 MB; sparsediffpy (an optional CVXPY
# backend, 12 MB) is left out: mlopt never imports it.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .whl && mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  cvxpy==1.9.3 clarabel==0.11.1 scs==3.2.7 ecos==2.0.14 osqp==1.1.3 qdldl==0.1.9.post1 highspy==1.16.0 \
  cffi==2.1.1 pycparser==3.12
du -sh .whl
