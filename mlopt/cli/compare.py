"""``mlopt compare``: solve one model on one data set with several methods and print the table."""
from __future__ import annotations

import argparse
import sys

from mlopt.compare import CONIC_METHODS, MODELS, compare, make_model, plot_convergence
from mlopt.estimators.base import FIRST_ORDER_SOLVERS

_DEFAULT_METHODS = "clarabel,lbfgs,fista,sklearn"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="compare conic, first-order and scikit-learn solvers on one problem",
        description="Fit one model on one data set with several methods and print, per method, the objective, "
        "relative suboptimality against the best, certified relative duality gap, time, iterations, "
        "distance to the best coefficients and train/test scores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="logistic", help="model to fit")
    parser.add_argument("--dataset", default="breast_cancer",
                        help="scikit-learn bundled data set (diabetes, breast_cancer, wine, iris, digits) or a CSV path")
    parser.add_argument("--target", default=None, help="label column of a CSV data set (default: last column)")
    parser.add_argument("--methods", default=_DEFAULT_METHODS,
                        help="comma-separated methods among: " + ", ".join((*CONIC_METHODS, *FIRST_ORDER_SOLVERS, "sklearn")))
    parser.add_argument("--alpha", type=float, default=None,
                        help="regularization strength α (ridge, lasso, elasticnet, huber, quantile)")
    parser.add_argument("--C", type=float, default=None, help="inverse regularization C (logistic, svm)")
    parser.add_argument("--l1-ratio", type=float, default=None, help="elastic-net mixing ρ (elasticnet, logistic)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per first-order method")
    parser.add_argument("--tol", type=float, default=1e-8, help="first-order tolerance on the certified relative gap")
    parser.add_argument("--test-size", type=float, default=0.25, help="held-out fraction for the test score (0: none)")
    parser.add_argument("--max-samples", type=int, default=None, help="use at most this many samples")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the train/test split")
    parser.add_argument("--device", default="cpu", help="device for mlopt's own solvers (cpu or cuda)")
    parser.add_argument("--plot", default=None, help="write convergence plots (PNG) to this path")
    parser.add_argument("--csv", default=None, help="write the table as CSV to this path")
    parser.add_argument("--markdown", default=None, help="write the table as Markdown to this path")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from sklearn.model_selection import train_test_split

    from mlopt.datasets import load_dataset

    data = load_dataset(args.dataset, target=args.target)
    X, y = data.X, data.y
    if args.max_samples is not None:
        if args.max_samples < 2:
            raise SystemExit("--max-samples must be at least 2")
        X, y = X[: args.max_samples], y[: args.max_samples]
    cls, reg_name = MODELS[args.model]
    params = {}
    if args.alpha is not None:
        if reg_name != "alpha":
            raise SystemExit(f"--alpha does not apply to --model {args.model}; use --C")
        params["alpha"] = args.alpha
    if args.C is not None:
        if reg_name != "C":
            raise SystemExit(f"--C does not apply to --model {args.model}; use --alpha")
        params["C"] = args.C
    if args.l1_ratio is not None:
        params["l1_ratio"] = args.l1_ratio
    model = make_model(args.model, **params)
    if MODELS[args.model][0]._estimator_type_name(model) == "regressor":
        y = (y - y.mean()) / (y.std() or 1.0)  # standardized target: objectives of order 1
    X_test = y_test = None
    if args.test_size > 0:
        strat = y if data.task == "classification" else None
        X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_size, random_state=args.seed, stratify=strat)
    methods = [m for m in args.methods.split(",") if m.strip()]
    table = compare(model, X, y, methods=methods, X_test=X_test, y_test=y_test, time_limit=args.time_limit,
                    tol=args.tol, device=args.device, progress=not args.quiet)
    print(table)
    if args.csv:
        table.to_csv(args.csv)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(table.to_markdown())
    if args.plot:
        plot_convergence(table, args.plot)
        print(f"convergence plot written to {args.plot}", file=sys.stderr)
    return 0
