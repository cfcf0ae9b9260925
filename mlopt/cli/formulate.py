"""``mlopt formulate``: print the conic form CVXPY builds for a model on a data set."""
from __future__ import annotations

import argparse

#: model name → estimator factory (hyperparameters from the command line)
MODELS = {
    "ridge": lambda a: __import__("mlopt").Ridge(alpha=a.alpha),
    "lasso": lambda a: __import__("mlopt").Lasso(alpha=a.alpha),
    "elasticnet": lambda a: __import__("mlopt").ElasticNet(alpha=a.alpha, l1_ratio=a.l1_ratio),
    "logistic": lambda a: __import__("mlopt").LogisticRegression(C=a.C),
    "svm": lambda a: __import__("mlopt").LinearSVC(C=a.C),
    "huber": lambda a: __import__("mlopt").HuberRegressor(alpha=a.alpha),
    "quantile": lambda a: __import__("mlopt").QuantileRegressor(alpha=a.alpha),
}
_DEFAULT_DATA = {"logistic": "breast_cancer", "svm": "breast_cancer"}


def run(args: argparse.Namespace) -> int:
    from mlopt.datasets import load_dataset

    data = load_dataset(args.dataset or _DEFAULT_DATA.get(args.model, "diabetes"), target=args.target)
    est = MODELS[args.model](args)
    print(f"{type(est).__name__} on {data.name}: n={data.X.shape[0]}, d={data.X.shape[1]}")
    print((type(est).__doc__ or "").strip().split("\n\n")[1].strip())
    print(est.conic_form(data.X, data.y, solver=args.solver.upper()))
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "formulate", help="print a model's conic form (variables, rows, cones by type and size)",
        description="Build a model's CVXPY problem on a data set and print the cone program a solver "
        "receives: number of variables and constraint rows, nonzeros of A, and the cones by type and size.")
    parser.add_argument("--model", choices=sorted(MODELS), required=True, help="the model to formulate")
    parser.add_argument("--dataset", default=None,
                        help="bundled scikit-learn data set (diabetes, breast_cancer, wine, iris, digits) or a CSV "
                        "path (default: breast_cancer for classifiers, diabetes otherwise)")
    parser.add_argument("--target", default=None, help="label column of a CSV data set (default: the last column)")
    parser.add_argument("--solver", default="clarabel", help="solver whose input form is shown (default: clarabel)")
    parser.add_argument("--alpha", type=float, default=1.0, help="regularization α of regressors (default: 1.0)")
    parser.add_argument("--l1-ratio", dest="l1_ratio", type=float, default=0.5, help="elastic-net mixing ρ (default: 0.5)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularization C of classifiers (default: 1.0)")
    parser.set_defaults(func=run)
