"""Candidate kernels for the GPU target (logistic 10⁶×1000), timed on the device before one goes in.

``python benchmarks/device/kernels.py --n 1000000 --d 1000`` prints, each the best of ``--repeat`` runs:

1. host→device copies of a float64 n×d X: one pageable ``torch.as_tensor`` and
   :func:`mlopt.ipm.upload.staged_copy` (row chunks through two pinned staging buffers filled by
   several host threads while the other buffer's transfer runs on a side stream; what the solver
   does for a large X) with several buffer sizes and thread counts, the buffers' allocation included;
2. the Schur complement's Gram matrix BᵀB (B: n×d): one GEMM, and its lower block triangle from
   2×2 (what the solver does for ≥ 512 columns) and 4×4 column blocks (3/4 and 5/8 of the flops);
3. products with the coupling block: A_cᵀz and A_c x (one vector) and A_cᵀ[z₁ z₂] (two at once).

Without a GPU it runs on the CPU at the given size (a dry run).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mlopt.ipm.upload import staged_copy


def _best(fn, device: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return min(times)


def gram_blocks(B: torch.Tensor, parts: int) -> torch.Tensor:
    """BᵀB from its lower block triangle over ``parts`` column blocks (upper blocks mirrored)."""
    p = B.shape[1]
    edges = np.linspace(0, p, parts + 1).astype(int)
    S = torch.empty((p, p), dtype=B.dtype, device=B.device)
    for a in range(parts):
        Ba = B[:, edges[a]:edges[a + 1]]
        for b in range(a + 1):
            blk = Ba.T @ B[:, edges[b]:edges[b + 1]]
            S[edges[a]:edges[a + 1], edges[b]:edges[b + 1]] = blk
            if a != b:
                S[edges[b]:edges[b + 1], edges[a]:edges[a + 1]] = blk.T
    return S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d))
    gb = X.nbytes / 1e9
    print(f"X {args.n}x{args.d} ({gb:.1f} GB), device {device}", flush=True)
    if device == "cuda":
        torch.zeros(1, device=device)
        sec = _best(lambda: torch.as_tensor(X, device=device), device, args.repeat)
        print(f"copy as_tensor (pageable): {sec:.3f} s ({gb / sec:.1f} GB/s)", flush=True)
        for chunk_mb, threads in ((64, 4), (64, 8), (128, 8), (256, 16)):  # (mlopt.ipm.upload uses 64 MB, 8)
            Xd = staged_copy(X, device, chunk_mb << 20, threads)
            assert torch.equal(Xd[-1].cpu(), torch.from_numpy(X[-1])) and torch.equal(Xd[0].cpu(), torch.from_numpy(X[0]))
            del Xd
            sec = _best(lambda: staged_copy(X, device, chunk_mb << 20, threads), device, args.repeat)
            print(f"copy staged 2x{chunk_mb} MB pinned, {threads} threads: {sec:.3f} s ({gb / sec:.1f} GB/s)", flush=True)
    B = torch.as_tensor(X, device=device)
    del X
    ref = B.T @ B
    flops = 2.0 * B.shape[0] * B.shape[1] ** 2
    sec = _best(lambda: B.T @ B, device, args.repeat)
    print(f"gram one GEMM: {sec * 1e3:.1f} ms ({flops / sec / 1e12:.1f} TFLOP/s full-GEMM rate)", flush=True)
    for parts in (2, 4):
        S = gram_blocks(B, parts)
        err = float((S - ref).abs().max() / ref.abs().max())
        sec = _best(lambda: gram_blocks(B, parts), device, args.repeat)
        print(f"gram {parts}x{parts} lower blocks: {sec * 1e3:.1f} ms (max rel diff {err:.1e})", flush=True)
    z = torch.randn(B.shape[0], dtype=torch.float64, device=device)
    x = torch.randn(B.shape[1], dtype=torch.float64, device=device)
    Z2 = torch.randn(B.shape[0], 2, dtype=torch.float64, device=device)
    for name, fn in (("A^T z", lambda: B.T @ z), ("A x", lambda: B @ x), ("A^T [z1 z2]", lambda: B.T @ Z2),
                     ("A [x1 x2]", lambda: B @ Z2[: B.shape[1]])):
        sec = _best(fn, device, max(args.repeat, 5))
        print(f"product {name}: {sec * 1e3:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
