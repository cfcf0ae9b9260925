"""Regularization-path benchmarks: one batched solve vs one fit per value vs scikit-learn.

``--model lasso`` (default):
  Data: X ~ N(0, 1) (n × d), a sparse truth w* (d/10 nonzeros), y = Xw* + 0.5·noise + 1.
  Grid: :func:`mlopt.paths.alpha_grid` (``--n-alphas`` values, α_max down to 10⁻³α_max).
  Model: 1/(2n)‖y − Xw − b‖² + α‖w‖₁ (scikit-learn's Lasso, with an intercept).
``--model logistic``:
  Data: :func:`mlopt.datasets.make_classification` (n × d, 10% flipped labels).
  Grid: ``--n-cs`` values of C in np.logspace(−4, 4) (LogisticRegressionCV's default range).
  Model: C·Σᵢ log(1 + exp(−yᵢ(xᵢᵀw + b))) + ½‖w‖² (scikit-learn's LogisticRegression).

Methods (one JSON line each on stdout):

* ``mlopt-batched`` (device cpu, and cuda when available): lasso: :func:`fit_path_batched`
  (the Gram matrix included in the time; ``methods`` counts the alphas finished by the
  active-set start and by the IPM); logistic: :func:`fit_logistic_path_batched` (Newton — all
  values as one batch on a GPU, one after the other from the previous solution on the CPU — every
  member certified by its duality gap; ``methods`` counts "newton" and IPM fallbacks);
* ``mlopt-sequential``: the single fit once per value, :func:`mlopt.structured.fit_objective` (lasso:
  the same batched Gram solve with one member, the Gram matrix recomputed per alpha; logistic: the
  structured IPM, its Newton start at the previous C's solution — the path before the batch)
  (stops after ``--seq-time-limit`` seconds; then ``alphas_done`` < the grid size and
  ``projected_time_s`` extrapolates linearly);
* ``sklearn``: lasso: :func:`sklearn.linear_model.lasso_path` on centred data, tol 1e-10; logistic:
  ``LogisticRegression(solver="newton-cholesky", tol=1e-10, warm_start=True)`` refitted per C.

Wall times are the fastest of ``--repeat`` runs (the sequential loop runs once).  Every
method's coefficients are scored with the same function: ``max_rel_obj_diff`` =
max over values of (f − f_best)/max(1, |f_best|), f_best the lowest objective any method
reached for that value, and ``max_cert_gap`` the largest relative duality gap of a dual
feasible point built from the coefficients (:func:`mlopt.certificates.certificate`), over every
``--cert-stride``-th value (default: all when n·d ≤ 10⁷, every 4th above; ``certified_alphas``).

    python benchmarks/bench_path.py                      # lasso, n=100000, d=500
    python benchmarks/bench_path.py --n 20000 --d 200    # quicker
    python benchmarks/bench_path.py --model logistic --n 5000 --d 200
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlopt.certificates import certificate  # noqa: E402
from mlopt.datasets import make_classification  # noqa: E402
from mlopt.estimators import Lasso, LogisticRegression  # noqa: E402
from mlopt.paths import alpha_grid  # noqa: E402
from mlopt.structured import fit_objective  # noqa: E402
from mlopt.structured.batched_path import fit_path_batched, model_objectives  # noqa: E402
from mlopt.structured.logistic_path import fit_logistic_path_batched  # noqa: E402


class LassoPath:
    """The lasso over α (the objective's ``alpha``)."""

    bench = "lasso_path"
    warm = False  #: the sequential loop starts each fit at the previous value's solution
    def __init__(self, n: int, d: int, seed: int, n_values: int):
        self.X, self.y = make_data(n, d, seed)
        self.values = alpha_grid(self.X, self.y, n_alphas=n_values)
        self.obj = Lasso().get_objective(self.X, self.y)

    def set(self, value: float) -> None:
        self.obj.alpha = float(value)

    def batched(self, device, cpu_threads):
        return fit_path_batched(self.obj, self.values, device=device, cpu_threads=cpu_threads)

    def sklearn(self):
        return run_sklearn(self.X, self.y, self.values)

    def objectives(self, coefs, intercepts) -> np.ndarray:
        return model_objectives(self.obj, self.values, 1.0, coefs, intercepts)


class LogisticPath(LassoPath):
    """Binary ℓ₂-logistic regression over C (the objective's ``loss_weight``)."""

    bench = "logistic_path"
    warm = True
    def __init__(self, n: int, d: int, seed: int, n_values: int):
        self.X, self.y, _ = make_classification(n, d, flip=0.1, random_state=seed)
        self.values = np.logspace(-4, 4, n_values)
        self.obj = LogisticRegression().get_objective(self.X, self.y)

    def set(self, value: float) -> None:
        self.obj.loss_weight = float(value)

    def batched(self, device, cpu_threads):
        return fit_logistic_path_batched(self.obj, self.values, np.ones(self.values.size), device=device,
                                         cpu_threads=cpu_threads)

    def sklearn(self):
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression

        t0 = time.perf_counter()
        model = SkLogisticRegression(solver="newton-cholesky", tol=1e-10, max_iter=1000, warm_start=True)
        coefs, intercepts = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for C in self.values:
                model.set_params(C=float(C)).fit(self.X, self.y)
                coefs.append(model.coef_.ravel().copy())
                intercepts.append(float(model.intercept_[0]))
        return np.array(coefs), np.array(intercepts), ["n/a"] * self.values.size, time.perf_counter() - t0, {}

    def objectives(self, coefs, intercepts) -> np.ndarray:
        out = np.full(self.values.size, np.nan)
        for k, C in enumerate(self.values):
            if np.all(np.isfinite(coefs[k])):
                self.set(C)
                out[k] = self.obj.value(coefs[k], intercepts[k])
        return out


def make_data(n: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    k = max(1, d // 10)
    w[rng.choice(d, k, replace=False)] = rng.uniform(0.5, 2.0, k) * rng.choice([-1.0, 1.0], k)
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.0
    return X, y


def run_batched(case, device, cpu_threads):
    res = case.batched(device, cpu_threads)
    extra = {"iterations_total": int(res.iterations.sum()), "iterations_max": int(res.iterations.max()),
             "setup_time_s": res.setup_time, "methods": dict(Counter(res.methods))}
    return res.coefs, res.intercepts, res.statuses, res.time, extra


def run_sequential(case, limit):
    alphas = case.values
    coefs = np.full((len(alphas), case.obj.n_features), np.nan)
    intercepts = np.full(len(alphas), np.nan)
    statuses = ["not_run"] * len(alphas)
    t0 = time.perf_counter()
    done = 0
    iters = 0
    methods = Counter()
    previous = None
    for k, a in enumerate(alphas):
        case.set(a)
        c, b, info = fit_objective(case.obj, newton_init=previous)
        previous = (c, b) if case.warm and info["status"] == "solved" else None
        coefs[k], intercepts[k], statuses[k] = c, float(b), info["status"]
        iters += int(info["iterations"])
        methods[info.get("method", info["kkt_solver"])] += 1
        done += 1
        if time.perf_counter() - t0 > limit:
            break
    wall = time.perf_counter() - t0
    extra = {"alphas_done": done, "iterations_total": iters, "methods": dict(methods)}
    if done < len(alphas):
        extra["projected_time_s"] = wall / done * len(alphas)
    return coefs, intercepts, statuses, wall, extra


def run_sklearn(X, y, alphas):
    from sklearn.linear_model import lasso_path

    t0 = time.perf_counter()
    xm, ym = X.mean(axis=0), y.mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, coefs, _ = lasso_path(X - xm, y - ym, alphas=alphas, tol=1e-10, max_iter=100_000)
    coefs = coefs.T
    intercepts = ym - coefs @ xm
    return coefs, intercepts, ["n/a"] * len(alphas), time.perf_counter() - t0, {}


def _fastest(run, repeat: int):
    """The run (coefs, intercepts, statuses, wall, extra) with the smallest wall time of ``repeat``."""
    best = None
    for _ in range(repeat):
        out = run()
        if best is None or out[3] < best[3]:
            best = out
    if repeat > 1:
        best[4]["repeats"] = repeat
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=500)
    ap.add_argument("--model", default="lasso", choices=["lasso", "logistic"])
    ap.add_argument("--n-alphas", type=int, default=100, help="lasso: grid size")
    ap.add_argument("--n-cs", type=int, default=10, help="logistic: grid size (C in logspace(-4, 4))")
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (cpu, plus cuda when available)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seq-time-limit", type=float, default=30.0, help="seconds for the per-alpha loop")
    ap.add_argument("--cert-stride", type=int, default=0,
                    help="certify every k-th alpha (0: every alpha when n·d <= 1e7, else every 4th)")
    ap.add_argument("--methods", default="batched,sequential,sklearn")
    ap.add_argument("--cpu-threads", type=int, default=1,
                    help="torch threads of the batched solve on CPU (fit_path_batched's cpu_threads; 0: torch's)")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of the batched and scikit-learn methods; the fastest is reported")
    args = ap.parse_args(argv)
    if args.n < 2 or args.d < 1 or args.n_alphas < 1 or args.n_cs < 1 or args.repeat < 1 or args.cert_stride < 0:
        ap.error("--n >= 2, --d >= 1, --n-alphas >= 1, --n-cs >= 1, --repeat >= 1 and --cert-stride >= 0 are required")
    stride = args.cert_stride or (1 if args.n * args.d <= 10_000_000 else 4)
    devices = {"auto": ["cpu"] + (["cuda"] if torch.cuda.is_available() else []), "cpu": ["cpu"],
               "cuda": ["cuda"]}.get(args.device)
    if devices is None:
        ap.error(f"--device must be cpu, cuda or auto, got {args.device!r}")
    if "cuda" in devices and not torch.cuda.is_available():
        ap.error("--device cuda: torch.cuda.is_available() is False")

    load = os.getloadavg()[0]  # other processes on the machine distort timings: reported per line
    threads = None if args.cpu_threads == 0 else args.cpu_threads
    case = (LassoPath(args.n, args.d, args.seed, args.n_alphas) if args.model == "lasso"
            else LogisticPath(args.n, args.d, args.seed, args.n_cs))
    alphas = case.values
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    runs = {}
    if "batched" in methods:
        for dev in devices:
            if dev == "cuda":  # warm the CUDA context so the timing is the solve's
                torch.zeros(1, device="cuda")
                torch.cuda.synchronize()
            runs[f"mlopt-batched-{dev}"] = (_fastest(lambda: run_batched(case, dev, threads), args.repeat)
                                            + (dev,))
    if "sequential" in methods:
        runs["mlopt-sequential"] = run_sequential(case, args.seq_time_limit) + ("cpu",)
    if "sklearn" in methods:
        runs["sklearn"] = _fastest(case.sklearn, args.repeat) + ("cpu",)

    values = {m: case.objectives(r[0], r[1]) for m, r in runs.items()}
    table = np.vstack([np.where(np.isnan(v), np.inf, v) for v in values.values()])
    best = table.min(axis=0)
    for method, (coefs, intercepts, statuses, wall, extra, dev) in runs.items():
        f = values[method]
        ran = ~np.isnan(f)
        diff = (f[ran] - best[ran]) / np.maximum(1.0, np.abs(best[ran]))
        gaps = []
        for k in np.flatnonzero(ran)[::stride]:
            case.set(alphas[k])
            gaps.append(certificate(case.obj, coefs[k], intercepts[k]).relative_gap)
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        line = {"bench": case.bench, "method": method, "device": dev, "n": args.n, "d": args.d,
                "n_alphas": len(alphas), "wall_time_s": round(wall, 4),
                "max_rel_obj_diff": float(diff.max()) if diff.size else None,
                "max_cert_gap": float(max(gaps)) if gaps else None, "certified_alphas": len(gaps), "statuses": counts,
                "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                "load_avg_1min": round(load, 2), "machine": platform.processor() or platform.machine()}
        if method.startswith("mlopt-batched") and dev == "cpu":
            line["solve_threads"] = threads if threads is not None else torch.get_num_threads()
        line.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in extra.items()})
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
