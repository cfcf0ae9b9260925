"""Iteration history of the GPU target (logistic 10⁶×1000) with each way of forming the Schur Gram matrix.

``python benchmarks/device/history.py --n 1000000 --d 1000`` fits twice, with BᵀB from one GEMM and from
its lower 2×2 block triangle (:func:`mlopt.ipm.kkt.sample_structure.gram_matrix`), and prints each
fit's verbose iteration table (objectives, relative gap, primal and dual residuals, step, μ, σ) and
its seconds by phase: how far the two differ and where the iterations go.
"""
from __future__ import annotations

import argparse
import time

import torch

import mlopt
from mlopt.datasets import make_classification
from mlopt.ipm.kkt import sample_structure
from mlopt.structured import fit_objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1000)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    X, y, _ = make_classification(args.n, args.d, flip=0.1, random_state=0)
    objective = mlopt.LogisticRegression(C=1.0).get_objective(X, y)
    default = sample_structure.GRAM_BLOCKS_MIN_COLS
    for label, min_cols in (("one GEMM", 10 ** 9), ("2x2 blocks", default)):
        sample_structure.GRAM_BLOCKS_MIN_COLS = min_cols
        print(f"--- BᵀB by {label}", flush=True)
        t = time.perf_counter()
        coef, b, info = fit_objective(objective, device=device, verbose=True)
        if device == "cuda":
            torch.cuda.synchronize()
        tm = {k: round(v, 3) for k, v in info["timings"].items()}
        print(f"{label}: {time.perf_counter() - t:.2f} s, {info['iterations']} iterations, status {info['status']}, "
              f"objective {info['objective']:.12e}; {tm}", flush=True)
    sample_structure.GRAM_BLOCKS_MIN_COLS = default


if __name__ == "__main__":
    main()
