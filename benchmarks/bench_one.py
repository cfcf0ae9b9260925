"""Run one benchmark cell (model × data × method) and print one JSON line.

Run by ``run_benchmarks.py`` in a fresh subprocess per cell, so that every cell
has its own time limit and its own peak-memory reading (ru_maxrss).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings

import numpy as np
import sklearn.linear_model as sklm
import sklearn.svm as sksvm

import mlopt
from mlopt.structured import fit_objective  # imports stay outside the timed region
from mlopt.datasets import load_dataset, make_classification, make_regression

MODELS = {
    "ridge": lambda: mlopt.Ridge(alpha=1.0),
    "lasso": lambda: mlopt.Lasso(alpha=0.01),
    "svm": lambda: mlopt.LinearSVC(C=1.0),
    "logistic": lambda: mlopt.LogisticRegression(C=1.0),
}
CLASSIFIERS = ("svm", "logistic")


def make_data(model: str, data: str):
    """``data`` is 'real' (bundled set) or 'NxD' (generated, fixed seed)."""
    if data == "real":
        ds = load_dataset("breast_cancer" if model in CLASSIFIERS else "diabetes")
        y = ds.y if model in CLASSIFIERS else (ds.y - ds.y.mean()) / ds.y.std()
        return ds.X, y
    n, d = (int(v) for v in data.lower().split("x"))
    if model in CLASSIFIERS:
        X, y, _ = make_classification(n, d, flip=0.1, random_state=0)
    else:
        X, y, _ = make_regression(n, d, n_informative=max(1, d // 5), noise=0.5, random_state=0)
    return X, y


def sklearn_fit(model: str, X, y):
    """scikit-learn's fastest solver for the same objective, at tight tolerance."""
    if model == "ridge":
        return sklm.Ridge(alpha=1.0, solver="cholesky").fit(X, y), "Ridge(cholesky)"
    if model == "lasso":
        return sklm.Lasso(alpha=0.01, tol=1e-10, max_iter=100000).fit(X, y), "Lasso(cd, tol=1e-10)"
    if model == "logistic":
        return (sklm.LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10, max_iter=1000).fit(X, y),
                "LogisticRegression(newton-cholesky, tol=1e-10)")
    return sksvm.SVC(kernel="linear", C=1.0, tol=1e-8).fit(X, y), "SVC(linear, tol=1e-8)"


#: a cell whose first (cold) run takes less than this is run again: its time is then the median of
#: up to WARM_RUNS further (warm) runs, within WARM_BUDGET seconds; slower cells are timed once, cold
REPEAT_UNDER = 2.0
WARM_RUNS = 5
WARM_BUDGET = 6.0


def fit_once(model: str, method: str, X, y, objective):
    """One timed fit: (seconds, coef, intercept, iterations, solver gap, status, label, warnings, timings,
    screening) — timings: mlopt-structured's seconds by IPM phase (``info["timings"]``), screening: its
    ``info["screening"]`` (linear SVM), else None."""
    label = method
    timings = screening = None
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = None
        if method == "sklearn":
            fitted, label = sklearn_fit(model, X, y)
            iterations = getattr(fitted, "n_iter_", None)
            gap = None
        elif method in ("mlopt-structured", "mlopt-structured-cuda"):
            coef, intercept, info = fit_objective(objective, device="cuda" if method.endswith("cuda") else "cpu")
            fitted = None
            iterations, gap, status = info["iterations"], info["gap"], info["status"]
            # seconds by phase: problem assembly, then the IPM's (validate, equilibrate, setup, iterations, …)
            timings = dict(assemble=info["setup_time"], **info["timings"]) if info.get("timings") else None
            screening = info.get("screening")
        else:
            solver = {"mlopt-cvxpy": mlopt.IPM()}.get(method, method)
            fitted = MODELS[model]().set_params(solver=solver).fit(X, y)
            iterations, gap = fitted.solution_.iterations, fitted.solution_.relative_gap
            status = fitted.solution_.status
        wall = time.perf_counter() - start
    if fitted is not None:
        coef = np.ravel(fitted.coef_)
        intercept = float(np.ravel(fitted.intercept_)[0]) if np.ndim(fitted.intercept_) else float(fitted.intercept_)
    return wall, coef, intercept, iterations, gap, status, label, caught, timings, screening


def run_cell(model: str, data: str, method: str) -> dict:
    X, y = make_data(model, data)
    if method == "mlopt-structured-cuda":  # the CUDA context is set up outside the timed region
        import torch

        torch.zeros(1, device="cuda")
        torch.cuda.synchronize()
    est = MODELS[model]()
    objective = est.get_objective(X, y)
    cold, coef, intercept, iterations, gap, status, label, caught, timings, screening = fit_once(model, method, X, y,
                                                                                                 objective)
    warm, warm_timings = [], []
    if cold < REPEAT_UNDER:
        t_end = time.perf_counter() + WARM_BUDGET
        while len(warm) < WARM_RUNS and time.perf_counter() + (warm[-1] if warm else cold) < t_end:
            run = fit_once(model, method, X, y, objective)
            warm.append(run[0])
            warm_timings.append(run[-2])
    wall = float(np.median(warm)) if warm else cold
    if timings is not None and warm_timings:  # per-phase medians of the runs that give *time*
        timings = {k: float(np.median([t[k] for t in warm_timings])) for k in timings}
    value = objective.value(np.ravel(coef), intercept)
    try:
        from mlopt.certificates import certificate

        cert = certificate(objective, np.ravel(coef), intercept)
        certified_gap = float(cert.gap) / max(1.0, abs(value))
    except Exception as exc:  # noqa: BLE001 - reported in the table, not hidden
        certified_gap = f"n/a ({type(exc).__name__})"
    return {
        "model": model, "data": data, "method": method, "label": label, "n": X.shape[0], "d": X.shape[1],
        "time": wall, "cold_time": cold, "warm_runs": len(warm), "status": None if status is None else str(getattr(status, "value", status)),
        "iterations": None if iterations is None else int(np.max(iterations)),
        "objective": value, "solver_gap": gap, "certified_gap": certified_gap,
        "warnings": sorted({str(w.message)[:80] for w in caught if "inaccurate" in str(w.message) or "converge" in str(w.message).lower()}),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "timings": timings, "screening": screening,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("data", help="'real' or NxD, e.g. 5000x200")
    parser.add_argument("method", help="mlopt-structured, mlopt-cvxpy, clarabel, ecos, scs or sklearn")
    args = parser.parse_args(argv)
    print(json.dumps(run_cell(args.model, args.data, args.method)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
