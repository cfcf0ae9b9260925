"""``mlopt demo``: fit models as conic programs on bundled real data, next to scikit-learn."""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

#: demo model → (dataset, mlopt factory, scikit-learn factory)
_DEMOS = {
    "logistic": "breast_cancer",
    "lasso": "diabetes",
    "svm": "breast_cancer",
}


def _pair(model: str):
    import sklearn.linear_model as sklm
    import sklearn.svm as sksvm

    import mlopt

    if model == "logistic":
        return (lambda solver: mlopt.LogisticRegression(C=1.0, solver=solver),
                lambda: sklm.LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000))
    if model == "lasso":
        return (lambda solver: mlopt.Lasso(alpha=0.1, solver=solver),
                lambda: sklm.Lasso(alpha=0.1, tol=1e-14, max_iter=10**6))
    return (lambda solver: mlopt.LinearSVC(C=0.1, solver=solver),
            lambda: sksvm.SVC(kernel="linear", C=0.1, tol=1e-10))


def format_table(headers: list[str], rows: list[list]) -> str:
    """A plain fixed-width text table."""
    cells = [[h for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5)) else f"{v:.4f}"
    return str(v)


def run_demo(model: str, solvers: list[str]) -> str:
    """Fit ``model`` with each solver and scikit-learn; return the side-by-side table."""
    from mlopt.datasets import load_dataset

    data = load_dataset(_DEMOS[model])
    X, y = data.X, data.y
    make_ours, make_ref = _pair(model)
    t0 = time.perf_counter()
    ref = make_ref().fit(X, y)
    ref_time = time.perf_counter() - t0
    objective = make_ours("clarabel").get_objective(X, y)
    ref_obj = objective.value(np.ravel(ref.coef_), np.ravel(ref.intercept_)[0] if np.ndim(ref.intercept_) else ref.intercept_)
    rows = []
    for solver in solvers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = make_ours(solver).fit(X, y)
        info = est.solution_
        status = info.status + (" (warned)" if any("inaccurate" in str(w.message) for w in caught) else "")
        diff = float(np.max(np.abs(np.ravel(est.coef_) - np.ravel(ref.coef_))) / np.max(np.abs(ref.coef_)))
        rows.append([f"mlopt + {info.solver}", status, info.objective, diff, info.relative_gap,
                     info.iterations, info.wall_time, est.score(X, y)])
    rows.append([f"scikit-learn {type(ref).__name__}", "-", ref_obj, 0.0, None, None, ref_time, ref.score(X, y)])
    headers = ["method", "status", "objective", "max|Δcoef|/max|coef|", "rel. gap", "iters", "time [s]", "train score"]
    title = f"{model} on {data.name} (n={X.shape[0]}, d={X.shape[1]}), objective: see help(mlopt.{type(make_ours('clarabel')).__name__})"
    return title + "\n" + format_table(headers, rows)


def run(args: argparse.Namespace) -> int:
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    models = list(_DEMOS) if args.model == "all" else [args.model]
    for model in models:
        print(run_demo(model, solvers))
        print()
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="fit models as conic programs on bundled real data, next to scikit-learn",
        description="Fit logistic regression (breast_cancer), the lasso (diabetes) and a linear SVM "
        "(breast_cancer) as conic programs with each solver and print them side by side with "
        "scikit-learn: objective, coefficient difference, certified duality gap, iterations, time.")
    parser.add_argument("--model", choices=[*_DEMOS, "all"], default="all", help="which model to demo (default: all)")
    parser.add_argument("--solvers", default="clarabel,ecos,scs,mlopt",
                        help="comma-separated solvers: clarabel, ecos, scs, mlopt or any CVXPY solver name "
                        "(default: clarabel,ecos,scs,mlopt)")
    parser.set_defaults(func=run)
