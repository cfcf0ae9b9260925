"""First-use costs on a GPU that a cold fit pays and a warm one does not (run in a fresh process).

``python benchmarks/device/cold.py --gb 8`` prints the seconds of: device memory allocations of
``--gb`` GB (the first one, one after ``torch.cuda.empty_cache()``, and a cached one), a zero fill of
that size, the first and second Cholesky factorization and matrix product of 1000×1000 float64
matrices (library handles and kernel loading), and a pinned host buffer of 64 MB.
"""
from __future__ import annotations

import argparse
import time

import torch


def _timed(label: str, fn) -> None:
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    print(f"{label}: {time.perf_counter() - t:.4f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=8.0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return
    _timed("context (torch.zeros(1))", lambda: torch.zeros(1, device="cuda"))
    count = int(args.gb * 1e9 / 8)
    t = _timed(f"first torch.empty of {args.gb:g} GB", lambda: torch.empty(count, dtype=torch.float64, device="cuda"))
    del t
    t = _timed("again, from the caching allocator", lambda: torch.empty(count, dtype=torch.float64, device="cuda"))
    u = _timed(f"a second {args.gb:g} GB block (new)", lambda: torch.empty(count, dtype=torch.float64, device="cuda"))
    _timed(f"zero fill of {args.gb:g} GB", lambda: u.zero_())
    del t, u
    torch.cuda.empty_cache()
    t = _timed("after empty_cache: torch.empty again", lambda: torch.empty(count, dtype=torch.float64, device="cuda"))
    del t
    torch.cuda.empty_cache()
    A = torch.randn(1000, 1000, dtype=torch.float64, device="cuda")
    S = _timed("first matmul 1000x1000", lambda: A @ A.T)
    _timed("second matmul", lambda: A @ A.T)
    S += 1000 * torch.eye(1000, dtype=torch.float64, device="cuda")
    _timed("first cholesky_ex 1000x1000", lambda: torch.linalg.cholesky_ex(S))
    _timed("second cholesky_ex", lambda: torch.linalg.cholesky_ex(S))
    L = torch.linalg.cholesky(S)
    b = torch.randn(1000, 1, dtype=torch.float64, device="cuda")
    _timed("first cholesky_solve", lambda: torch.cholesky_solve(b, L))
    _timed("second cholesky_solve", lambda: torch.cholesky_solve(b, L))
    _timed("pinned host buffer 64 MB", lambda: torch.empty(1 << 23, dtype=torch.float64, pin_memory=True))
    _timed("another pinned 64 MB", lambda: torch.empty(1 << 23, dtype=torch.float64, pin_memory=True))


if __name__ == "__main__":
    main()
