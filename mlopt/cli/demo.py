"""``mlopt demo``: fit models as conic programs on bundled real data, next to scikit-learn.

A thin front end to :func:`mlopt.compare.compare`: one table per model with each
conic solver and scikit-learn's counterpart side by side.
"""
from __future__ import annotations

import argparse

#: demo model → (bundled data set, estimator factory)
_DEMOS = {
    "logistic": ("breast_cancer", lambda: __import__("mlopt").LogisticRegression(C=1.0)),
    "lasso": ("diabetes", lambda: __import__("mlopt").Lasso(alpha=0.1)),
    "svm": ("breast_cancer", lambda: __import__("mlopt").LinearSVC(C=0.1)),
}


def run_demo(model: str, solvers: list[str]) -> str:
    """Fit ``model`` with each solver and scikit-learn; return the side-by-side table."""
    from mlopt.compare import compare
    from mlopt.datasets import load_dataset

    name, make = _DEMOS[model]
    data = load_dataset(name)
    est = make()
    table = compare(est, data.X, data.y, methods=[*solvers, "sklearn"])
    title = (f"{model} on {data.name} (n={data.X.shape[0]}, d={data.X.shape[1]}); "
             f"objective: see help(mlopt.{type(est).__name__})")
    return f"{title}\n{table}"


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
        "scikit-learn: objective, suboptimality, certified duality gap, time, iterations, distance "
        "between coefficients and training score.")
    parser.add_argument("--model", choices=[*_DEMOS, "all"], default="all", help="which model to demo (default: all)")
    parser.add_argument("--solvers", default="clarabel,ecos,scs,mlopt",
                        help="comma-separated solvers: clarabel, ecos, scs, mlopt or a first-order method "
                        "(default: clarabel,ecos,scs,mlopt)")
    parser.set_defaults(func=run)
