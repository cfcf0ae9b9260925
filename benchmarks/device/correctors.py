"""Gondzio centrality correctors on or off, on this machine's GPU (or CPU): LinearSVC fits, structured backend.

``python benchmarks/device/correctors.py --sizes 5000x200,20000x500,100000x100`` fits each size without
correctors and with them forced on (the gate of :mod:`mlopt.ipm.core` opened for this device: any
estimated factorization cost), a warm-up fit first, then ``--repeats`` of each, alternating, and prints the
iterations, the median seconds and the ratio: whether the CPU-only gate should also let CUDA run them.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import mlopt
from mlopt.datasets import make_classification
from mlopt.ipm import core
from mlopt.structured import fit_objective


def _fit(objective, device: str, on: bool):
    t = time.perf_counter()
    coef, b, info = fit_objective(objective, device=device, centrality_correctors=2 if on else 0)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000x200,20000x500,100000x100")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    core.CORRECTOR_DEVICES = (torch.device(args.device).type,)
    core.CORRECTOR_MIN_FACTOR_COST = float("-inf")  # "on" means on, whatever the estimate
    for size in args.sizes.split(","):
        n, d = (int(v) for v in size.lower().split("x"))
        X, y, _ = make_classification(n, d, flip=0.1, random_state=0)
        objective = mlopt.LinearSVC(C=1.0).get_objective(X, y)
        _fit(objective, args.device, True)  # warm-up (first CUDA calls, caches)
        runs = {False: [], True: []}
        for _ in range(args.repeats):
            for on in (False, True):
                runs[on].append(_fit(objective, args.device, on))
        t_off, t_on = (statistics.median(t for t, _ in runs[on]) for on in (False, True))
        i_off, i_on = runs[False][0][1], runs[True][0][1]
        print(f"{size} on {args.device}: off {t_off:.3f} s, {i_off['iterations']} iterations ({i_off['status']}); "
              f"on {t_on:.3f} s, {i_on['iterations']} iterations ({i_on['status']}); on/off {t_on / t_off:.2f}; "
              f"objectives {i_off['objective']:.10g} {i_on['objective']:.10g}", flush=True)


if __name__ == "__main__":
    main()
