"""Solve one problem with many methods and tabulate what each reached.

``compare(model, X, y, methods=[...])`` fits the model's objective with conic solvers
("clarabel", "ecos", "scs", mlopt's own "mlopt"), the first-order methods of
:mod:`mlopt.firstorder`, and "sklearn" (the scikit-learn counterpart at tight
tolerance), then reports per method: objective, relative suboptimality against the
best objective found, the certified relative duality gap (:mod:`mlopt.certificates`),
time, iterations, relative distance of (w, b) to the best solution, and train/test
accuracy (classifiers) or R² (regressors).  ``plot_convergence`` draws the
first-order traces.
"""
from __future__ import annotations

import io
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from sklearn.base import clone

from mlopt.certificates import certificate
from mlopt.estimators import (ElasticNet, HuberRegressor, Lasso, LinearSVC, LogisticRegression, QuantileRegressor,
                              Ridge)
from mlopt.estimators.base import FIRST_ORDER_SOLVERS, ConvexLinearModel
from mlopt.objective import Objective, ScaledHuberObjective

__all__ = ["MODELS", "CONIC_METHODS", "MethodRun", "ComparisonTable", "compare", "plot_convergence", "make_model"]

#: model name → (estimator class, its regularization parameter name)
MODELS = {
    "ridge": (Ridge, "alpha"),
    "lasso": (Lasso, "alpha"),
    "elasticnet": (ElasticNet, "alpha"),
    "logistic": (LogisticRegression, "C"),
    "svm": (LinearSVC, "C"),
    "huber": (HuberRegressor, "alpha"),
    "quantile": (QuantileRegressor, "alpha"),
}
CONIC_METHODS = ("clarabel", "ecos", "scs", "mlopt")


def make_model(name: str, **params) -> ConvexLinearModel:
    """An mlopt estimator from a model name in ``MODELS`` (``params`` go to its constructor)."""
    if name not in MODELS:
        raise ValueError(f"model={name!r} unknown; choose one of {sorted(MODELS)}")
    return MODELS[name][0](**params)


@dataclass
class MethodRun:
    """One row of the table (``error`` is set when the method could not run)."""

    method: str
    status: str = ""
    objective: float = math.nan
    gap: float | None = None
    time: float = math.nan
    iterations: int | None = None
    suboptimality: float = math.nan
    distance: float = math.nan
    train_score: float = math.nan
    test_score: float = math.nan
    coef: np.ndarray | None = field(default=None, repr=False)
    intercept: np.ndarray | float | None = field(default=None, repr=False)
    trace: list | None = field(default=None, repr=False)
    error: str | None = None


_COLUMNS = ("method", "status", "objective", "rel_subopt", "rel_gap", "time_s", "iters", "coef_dist",
            "train", "test")


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "e":
        return f"{value:.1e}"
    if kind == "g":
        return f"{value:.10g}"
    if kind == "t":
        return f"{value:.3f}"
    if kind == "s":
        return f"{value:.4f}"
    return str(value)


class ComparisonTable:
    """Rows of :class:`MethodRun` plus the reference optimum; prints as a fixed-width table.

    ``score_name`` is "accuracy" or "R2"; ``reference`` the best objective found and
    ``lower_bound`` the best certified lower bound on the optimum (objective − gap).
    """

    def __init__(self, rows: list[MethodRun], reference: float, lower_bound: float | None, score_name: str,
                 title: str = ""):
        self.rows, self.reference, self.lower_bound = rows, reference, lower_bound
        self.score_name, self.title = score_name, title

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, method: str) -> MethodRun:
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(method)

    def records(self) -> list[dict]:
        """One dict per row with the printed columns (numbers unformatted)."""
        return [{"method": r.method, "status": r.error and "n/a" or r.status, "objective": r.objective,
                 "rel_subopt": r.suboptimality, "rel_gap": r.gap, "time_s": r.time, "iters": r.iterations,
                 "coef_dist": r.distance, "train": r.train_score, "test": r.test_score} for r in self.rows]

    def _cells(self) -> list[list[str]]:
        kinds = ("", "", "g", "e", "e", "t", "", "e", "s", "s")
        return [[_fmt(rec[c], k) for c, k in zip(_COLUMNS, kinds)] for rec in self.records()]

    def _header(self) -> list[str]:
        return [c if c not in ("train", "test") else f"{c}_{self.score_name}" for c in _COLUMNS]

    def __str__(self) -> str:
        head, cells = self._header(), self._cells()
        widths = [max(len(h), *(len(row[j]) for row in cells)) for j, h in enumerate(head)]
        line = lambda row: "  ".join(v.rjust(w) if j > 1 else v.ljust(w) for j, (v, w) in enumerate(zip(row, widths)))
        out = ([self.title] if self.title else []) + [line(head), line(["-" * w for w in widths])]
        out += [line(row) for row in cells]
        out.append(f"reference objective {self.reference:.12g}"
                   + ("" if self.lower_bound is None else f"; certified lower bound {self.lower_bound:.12g}"))
        for r in self.rows:
            if r.error:
                out.append(f"  {r.method}: {r.error}")
        return "\n".join(out)

    __repr__ = __str__

    def to_markdown(self) -> str:
        head, cells = self._header(), self._cells()
        rows = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        rows += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(rows) + "\n"

    def to_csv(self, path: str | None = None) -> str:
        """CSV text (full precision); also written to ``path`` when given."""
        buf = io.StringIO()
        buf.write(",".join(self._header()) + "\n")
        for rec in self.records():
            buf.write(",".join("" if rec[c] is None else repr(rec[c]) if isinstance(rec[c], float) else str(rec[c])
                               for c in _COLUMNS) + "\n")
        text = buf.getvalue()
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text


# --------------------------------------------------------------------------- helpers
def _coef_from_estimator(est, obj: Objective) -> tuple[np.ndarray, np.ndarray | float]:
    coef = np.asarray(est.coef_, dtype=float)
    icpt = np.asarray(est.intercept_, dtype=float)
    if len(obj.coef_shape) == 1:
        return coef.reshape(-1), float(icpt.reshape(-1)[0]) if icpt.size else 0.0
    return coef.T.reshape(obj.coef_shape), icpt.reshape(-1)


def _objective_value(obj: Objective, coef, icpt, scale=None) -> float:
    if isinstance(obj, ScaledHuberObjective):
        return math.nan if scale is None else obj.scaled_value(coef, icpt, scale)
    if obj.constraint_violation(coef) > 1e-9:
        return math.inf
    return obj.value(coef, icpt if obj.fit_intercept else 0.0)


def _scores(obj: Objective, coef, icpt, X, target) -> float:
    """Accuracy on encoded targets (±1 or one-hot) or R²."""
    z = np.asarray(X @ coef) + (icpt if obj.fit_intercept else 0.0)
    if obj.loss.task == "regression":
        return 1.0 - float(np.sum((target - z) ** 2) / max(np.sum((target - target.mean()) ** 2), 1e-300))
    if target.ndim == 1:
        return float(np.mean(np.where(z > 0, 1.0, -1.0) == target))
    return float(np.mean(z.argmax(axis=1) == target.argmax(axis=1)))


def sklearn_counterpart(est: ConvexLinearModel):
    """The scikit-learn estimator minimizing the same objective, at tight tolerance."""
    from sklearn import linear_model as lm
    from sklearn import svm

    p = est.get_params()
    if isinstance(est, Ridge):
        return lm.Ridge(alpha=p["alpha"], fit_intercept=p["fit_intercept"], positive=p["positive"],
                        solver="lbfgs" if p["positive"] else "cholesky", tol=1e-12)
    if isinstance(est, Lasso):
        return lm.Lasso(alpha=p["alpha"], fit_intercept=p["fit_intercept"], positive=p["positive"], tol=1e-12,
                        max_iter=1_000_000)
    if isinstance(est, ElasticNet):
        return lm.ElasticNet(alpha=p["alpha"], l1_ratio=p["l1_ratio"], fit_intercept=p["fit_intercept"],
                             positive=p["positive"], tol=1e-12, max_iter=1_000_000)
    if isinstance(est, LogisticRegression):
        kw = dict(solver="saga", l1_ratio=p["l1_ratio"]) if p["l1_ratio"] > 0 else {}
        return lm.LogisticRegression(C=p["C"], fit_intercept=p["fit_intercept"], tol=1e-12, max_iter=1_000_000, **kw)
    if isinstance(est, LinearSVC):
        return svm.SVC(kernel="linear", C=p["C"], tol=1e-8)
    if isinstance(est, HuberRegressor):
        return lm.HuberRegressor(epsilon=p["epsilon"], alpha=p["alpha"], fit_intercept=p["fit_intercept"],
                                 tol=1e-12, max_iter=100_000)
    if isinstance(est, QuantileRegressor):
        return lm.QuantileRegressor(quantile=p["quantile"], alpha=p["alpha"], fit_intercept=p["fit_intercept"],
                                    solver="highs")
    raise ValueError(f"no scikit-learn counterpart for {type(est).__name__}")


def _stderr_progress(i: int, total: int, method: str, seconds: float | None) -> None:
    bar = "#" * (20 * i // total) + "." * (20 - 20 * i // total)
    msg = f"running {method}" if seconds is None else f"{method} done in {seconds:.2f}s"
    print(f"\r[{bar}] {i}/{total} {msg:<40}", end="" if i < total else "\n", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- compare
def compare(model, X=None, y=None, methods: Sequence[str] = ("clarabel", "fista", "lbfgs"), X_test=None,
            y_test=None, time_limit: float = 30.0, tol: float = 1e-8, device: str = "cpu",
            method_options: dict | None = None, progress: bool | Callable = False) -> ComparisonTable:
    """Solve one problem with each of ``methods`` and tabulate the results.

    Args:
        model: an mlopt estimator (its hyperparameters define the objective), a model
            name in ``MODELS``, or an :class:`~mlopt.objective.Objective` (then X, y may be
            None and only conic and first-order methods apply).
        X, y: training data.
        methods: names among ``CONIC_METHODS``, :data:`mlopt.firstorder.METHODS` and "sklearn".
        X_test, y_test: optional held-out data for the test score.
        time_limit: seconds per first-order method (conic solvers run to their tolerance).
        tol: first-order stopping tolerance (certified relative gap).
        device: "cpu" or "cuda" for mlopt's own solvers.
        method_options: method name → options dict (e.g. ``{"sgd": {"batch_size": 64}}``).
        progress: True for a stderr progress bar, or a callable(i, total, method, seconds).
    Returns:
        :class:`ComparisonTable`.
    """
    if isinstance(model, str):
        model = make_model(model)
    if isinstance(model, Objective):
        est, obj = None, model
    elif isinstance(model, ConvexLinearModel):
        if X is None or y is None:
            raise ValueError("compare: X and y are required when model is an estimator or a model name")
        est = clone(model)
        obj = est.get_objective(X, y)
    else:
        raise TypeError(f"model must be an mlopt estimator, a model name or an Objective, got {type(model).__name__}")
    methods = [m.strip().lower() for m in methods]
    known = set(CONIC_METHODS) | set(FIRST_ORDER_SOLVERS) | {"sklearn"}
    bad = [m for m in methods if m not in known]
    if bad:
        raise ValueError(f"methods: unknown {bad}; choose from {sorted(known)}")
    if not methods:
        raise ValueError("methods: give at least one method")
    report = _stderr_progress if progress is True else (progress or None)
    options = method_options or {}
    train_target = obj.y
    test_target = None
    if X_test is not None and y_test is not None and est is not None:
        test_target = est._encode_target(np.asarray(y_test), fit=False)
    rows = []
    for i, method in enumerate(methods):
        if report:
            report(i, len(methods), method, None)
        run = _run_one(method, est, obj, X, y, time_limit, tol, device, options.get(method, {}))
        if run.coef is not None:
            Xtr = obj.X
            run.train_score = _scores(obj, run.coef, run.intercept, Xtr, train_target)
            if test_target is not None:
                run.test_score = _scores(obj, run.coef, run.intercept, np.asarray(X_test, float), test_target)
        rows.append(run)
        if report:
            report(i + 1, len(methods), method, run.time)
    return _finish(rows, obj, est)


def _run_one(method, est, obj, X, y, time_limit, tol, device, opts) -> MethodRun:
    run = MethodRun(method)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scale = None
            if method in FIRST_ORDER_SOLVERS:
                from mlopt.firstorder import minimize

                res = minimize(obj, method, device=device, tol=tol, time_limit=time_limit, **opts)
                coef, icpt = res.coef, res.intercept
                run.status, run.iterations, run.trace = res.status, res.iterations, res.trace
                run.time = res.solve_time
            elif method == "sklearn":
                if est is None:
                    raise ValueError("'sklearn' needs an estimator, not a bare Objective")
                sk = sklearn_counterpart(est).fit(X, y)
                run.time = time.perf_counter() - start
                coef, icpt = _coef_from_estimator(sk, obj)
                scale = getattr(sk, "scale_", None)
                run.status, run.iterations = "done", int(np.max(getattr(sk, "n_iter_", 0) or 0))
            else:
                if est is not None:
                    fitted = clone(est).set_params(solver=method).fit(X, y)
                    coef, icpt = _coef_from_estimator(fitted, obj)
                    info, scale = fitted.solution_, getattr(fitted, "scale_", None)
                else:
                    from mlopt.problem import build_problem
                    from mlopt.solve import solve_problem

                    prob = build_problem(obj)
                    info = solve_problem(prob.problem, method, device=device)
                    coef = np.asarray(prob.coef.value, float)
                    icpt = np.asarray(prob.intercept.value, float) if obj.fit_intercept else 0.0
                    scale = None if prob.scale is None else float(prob.scale.value)
                run.time = time.perf_counter() - start
                run.status, run.iterations = info.status, info.iterations
                run.gap = info.relative_gap if isinstance(obj, ScaledHuberObjective) else None
    except Exception as exc:  # a method that cannot handle this problem is reported, not fatal
        run.error = f"{type(exc).__name__}: {exc}"
        run.time = time.perf_counter() - start
        return run
    run.coef, run.intercept = np.asarray(coef, float), icpt
    run.objective = _objective_value(obj, run.coef, icpt, scale)
    if not isinstance(obj, ScaledHuberObjective):
        try:
            run.gap = certificate(obj, run.coef, icpt).relative_gap
        except ValueError:
            run.gap = None
    return run


def _finish(rows: list[MethodRun], obj: Objective, est) -> ComparisonTable:
    ok = [r for r in rows if r.error is None and np.isfinite(r.objective)]
    if not ok:
        raise RuntimeError("compare: no method produced a solution:\n" + "\n".join(f"{r.method}: {r.error}" for r in rows))
    best = min(ok, key=lambda r: r.objective)
    ref = best.objective
    bounds = [r.objective - r.gap * abs(r.objective) for r in ok if r.gap is not None and np.isfinite(r.gap)]
    lower = max(bounds) if bounds else None
    ref_vec = np.concatenate([best.coef.ravel(), np.ravel(best.intercept if obj.fit_intercept else 0.0)])
    for r in ok:
        r.suboptimality = max(r.objective - ref, 0.0) / max(abs(ref), 1e-12)
        vec = np.concatenate([r.coef.ravel(), np.ravel(r.intercept if obj.fit_intercept else 0.0)])
        r.distance = float(np.linalg.norm(vec - ref_vec) / max(np.linalg.norm(ref_vec), 1e-12))
        if r.trace:
            r.trace = [(t, k, v) for t, k, v in r.trace]
    title = "" if est is None else f"{type(est).__name__}: {obj.n_samples} samples × {obj.n_features} features"
    score = "R2" if obj.loss.task == "regression" else "accuracy"
    return ComparisonTable(rows, ref, lower, score, title)


def plot_convergence(table: ComparisonTable, path: str, floor: float = 1e-16) -> str:
    """PNG of relative suboptimality (f − f_best)/|f_best| vs time and vs iteration (log scales)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_k) = plt.subplots(1, 2, figsize=(11, 4.2))
    ref = table.reference
    for r in table.rows:
        if r.error is not None or not np.isfinite(r.objective):
            continue
        if r.trace:
            t = np.array([max(p[0], 1e-6) for p in r.trace])
            k = np.array([max(p[1], 1) for p in r.trace])
            s = np.maximum((np.array([p[2] for p in r.trace]) - ref) / max(abs(ref), 1e-12), floor)
            (line,) = ax_t.loglog(t, s, label=r.method)
            ax_k.semilogy(k, s, color=line.get_color(), label=r.method)
        else:
            s = max(r.suboptimality, floor)
            ax_t.loglog([max(r.time, 1e-6)], [s], "o", label=f"{r.method} (final)")
            if r.iterations:
                ax_k.semilogy([r.iterations], [s], "o", label=f"{r.method} (final)")
    ax_t.set_xlabel("time [s]")
    ax_k.set_xlabel("iteration")
    for ax in (ax_t, ax_k):
        ax.set_ylabel("relative suboptimality")
        ax.grid(True, which="both", alpha=0.3)
    ax_k.legend(fontsize=8)
    fig.suptitle(table.title or "convergence")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
