"""Where the GPU target's time goes: binary logistic regression (C = 1) at n×d on CUDA.

Run on a GPU machine (``python benchmarks/device/profile_target.py --n 1000000 --d 1000``); it prints

1. (``--copies``) the host→device copy of the n×d float64 X by three routes: ``torch.as_tensor(X, device=...)``
   (one pageable copy), one pinned copy of X then one transfer, and row chunks through two pinned
   staging buffers filled by one thread (the host copy of one chunk overlapping the transfer of the
   other; :mod:`mlopt.ipm.upload`, what the solver uses, fills them with several threads: timed by
   ``kernels.py``);
2. one fit's seconds by phase (``fit_objective``'s ``info``: assembly, checks and upload, equilibration,
   KKT setup, iterations), then those of the setup's steps in another fit, each timed between two
   device synchronizations (so that device work is charged to the step that queued it);
3. torch.profiler's tables for a third fit: the operators by total device time and by host time;
4. cProfile's tables for a fourth fit (host seconds by Python function, by own and by cumulative time:
   where the host-side setup goes; device work shows up at the calls that wait for it).

Without a GPU it runs the fit on the CPU and skips the copies (a dry run of the script).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import pstats
import time
from unittest import mock

import numpy as np
import torch

import mlopt
from mlopt.datasets import make_classification
from mlopt.structured import fit_objective

PHASES = ("validate", "equilibrate", "setup", "iterations", "kkt_update", "kkt_solve", "cones", "gram")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device: str):
    _sync(device)
    t = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - t


def _chunked_pinned(X: np.ndarray, rows_per_chunk: int) -> torch.Tensor:
    """X on the GPU through two pinned staging buffers: copy chunk k into one while chunk k−1 moves."""
    out = torch.empty(X.shape, dtype=torch.float64, device="cuda")
    bufs = [torch.empty((rows_per_chunk, X.shape[1]), dtype=torch.float64).pin_memory() for _ in range(2)]
    done = [None, None]
    stream = torch.cuda.Stream()
    for k, i in enumerate(range(0, X.shape[0], rows_per_chunk)):
        j = min(i + rows_per_chunk, X.shape[0])
        b = k % 2
        if done[b] is not None:
            done[b].synchronize()  # the transfer that last read this buffer has finished
        np.copyto(bufs[b].numpy()[: j - i], X[i:j])
        with torch.cuda.stream(stream):
            out[i:j].copy_(bufs[b][: j - i], non_blocking=True)
            done[b] = torch.cuda.Event()
            done[b].record(stream)
    stream.synchronize()
    return out


#: (module, attribute) of the functions and methods timed by :func:`_synced_timers`
TIMED = [("mlopt.structured.fit", "assemble"), ("mlopt.ipm.solver", "validate_problem"),
         ("mlopt.ipm.block_matrix.BlockMatrix", "all_finite"), ("mlopt.ipm.block_matrix.BlockMatrix", "device_X"),
         ("mlopt.ipm.block_matrix.BlockMatrix", "nonzero_columns"), ("mlopt.ipm.block_matrix.BlockMatrix", "scaled"),
         ("mlopt.ipm.solver", "ruiz"), ("mlopt.ipm.equilibrate", "_ruiz_factors"),
         ("mlopt.ipm.equilibrate._BlockInfNorms", "__init__"), ("mlopt.ipm.equilibrate._DeviceInfNorms", "__init__"),
         ("mlopt.ipm.core.IPMCore", "__init__"), ("mlopt.ipm.core", "make_kkt_problem"),
         ("mlopt.ipm.core", "CompositeCone"), ("mlopt.ipm.core", "make_kkt_solver"),
         ("mlopt.ipm.kkt.sample_structure.SampleStructure", "check"), ("mlopt.ipm.kkt.structured", "lookup"),
         ("mlopt.ipm.kkt.structured.StructuredKKTSolver", "_locate_terms"),
         ("mlopt.ipm.kkt.structured.StructuredKKTSolver", "_coupling_from_terms"),
         ("mlopt.ipm.kkt.sample_structure.CouplingMatrix", "__init__"),
         ("mlopt.ipm.kkt.sample_structure.StaticEntries", "add"),
         ("mlopt.ipm.kkt.sample_structure.StaticEntries", "covers"),
         ("mlopt.ipm.kkt.structured.StructuredKKTSolver", "_static_pattern"),
         ("mlopt.ipm.kkt.structured.StructuredKKTSolver", "_map_blocks"),
         ("mlopt.ipm.kkt.structured.StructuredKKTSolver", "_plan_factorization"),
         ("mlopt.ipm.core.IPMCore", "initial_point"), ("mlopt.ipm.core.IPMCore", "run"),
         ("mlopt.ipm.solver", "_build_result")]


@contextlib.contextmanager
def _synced_timers(device: str):
    """Patch the functions of :data:`TIMED` so that each adds its seconds, between two device
    synchronizations, to the yielded {label: [seconds, calls]} (restored on exit)."""
    seconds: dict = {}
    with contextlib.ExitStack() as stack:
        for owner_path, name in TIMED:
            module_path, _, attr = owner_path.rpartition(".")
            try:
                owner = importlib.import_module(owner_path)
            except ImportError:
                owner = getattr(importlib.import_module(module_path), attr)
            label = f"{owner_path.rsplit('.', 1)[-1]}.{name}"
            seconds[label] = [0.0, 0]

            def wrapper(*a, _f=getattr(owner, name), _label=label, **k):
                _sync(device)
                t = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    _sync(device)
                    seconds[_label][0] += time.perf_counter() - t
                    seconds[_label][1] += 1

            stack.enter_context(mock.patch.object(owner, name, wrapper))
        yield seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20, help="rows per profiler table (default 20)")
    parser.add_argument("--copies", action="store_true", help="also time three host→device copy routes for X")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t = time.perf_counter()
    X, y, _ = make_classification(args.n, args.d, flip=0.1, random_state=0)
    print(f"data {args.n}x{args.d} generated in {time.perf_counter() - t:.1f} s; device {device}", flush=True)
    objective = mlopt.LogisticRegression(C=1.0).get_objective(X, y)
    if device == "cuda" and args.copies:
        torch.zeros(1, device="cuda")
        gb = X.nbytes / 1e9
        routes = [("as_tensor (pageable)", lambda: torch.as_tensor(X, device="cuda")),
                  ("pin_memory() then .cuda()", lambda: torch.from_numpy(X).pin_memory().cuda()),
                  ("2 pinned 64 MB buffers", lambda: _chunked_pinned(X, max(1, (1 << 23) // X.shape[1])))]
        for name, route in routes:
            Xd, sec = _timed(route, device)
            assert torch.equal(Xd[-1].cpu(), torch.from_numpy(X[-1]))
            del Xd
            torch.cuda.empty_cache()
            print(f"copy of X ({gb:.1f} GB) by {name}: {sec:.2f} s ({gb / sec:.1f} GB/s)", flush=True)
    (coef, b, info), sec = _timed(lambda: fit_objective(objective, device=device), device)
    tm = info.get("timings", {})
    print(f"fit: {sec:.2f} s, status {info['status']}, {info['iterations']} iterations, gap {info['gap']:.1e}; "
          f"assembly {info['setup_time']:.2f} s; " + ", ".join(f"{k} {tm[k]:.2f} s" for k in PHASES if k in tm),
          flush=True)
    with _synced_timers(device) as seconds:
        (coef, b, info), sec = _timed(lambda: fit_objective(objective, device=device), device)
    print(f"fit with synchronized timers: {sec:.2f} s; seconds inclusive of nested calls (count):", flush=True)
    for label, (total, calls) in seconds.items():
        print(f"  {label:<44s} {total:7.3f} ({calls})", flush=True)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        fit_objective(objective, device=device)
        _sync(device)
    table = prof.key_averages()
    if device == "cuda":
        for key in ("device_time_total", "cuda_time_total"):
            try:
                print(table.table(sort_by=key, row_limit=args.rows), flush=True)
                break
            except (AttributeError, KeyError, ValueError):
                continue
    print(table.table(sort_by="self_cpu_time_total", row_limit=args.rows), flush=True)
    profiler = cProfile.Profile()
    profiler.enable()
    fit_objective(objective, device=device)
    _sync(device)
    profiler.disable()
    for key, rows in (("tottime", 2 * args.rows), ("cumulative", 3 * args.rows)):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(rows)
        print(text.getvalue(), flush=True)


if __name__ == "__main__":
    main()
