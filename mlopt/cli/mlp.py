"""``mlopt mlp``: gradient-trained two-layer ReLU networks against their convex global optimum.

Loads a small data set (scikit-learn ``load_*`` or a CSV file), projects it to a
few standardized principal components, trains ``TwoLayerReLU`` with each
optimizer from several seeds, solves the convex reformulation ``ConvexReLU``
with the same beta, prints the final objectives against the convex optimum and
optionally plots the training objective over time with the optimum as a line.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from mlopt.mlp.datasets import BUNDLED

_HELP = "Train two-layer ReLU networks by SGD/Adam/L-BFGS and compare with the convex (global) optimum."


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "mlp",
        help=_HELP,
        description=_HELP
        + " Objective: loss + (beta/2)(||W1||_F^2 + ||alpha||^2), loss = 1/2||f(X)-y||^2 or sum log(1+exp(-y f(X))).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--dataset", default="diabetes",
                   help=f"bundled scikit-learn set ({', '.join(sorted(BUNDLED))}) or path of a CSV file with a header")
    p.add_argument("--target", default=None,
                   help="target column: required for a CSV file; for a bundled set, a feature name to regress on")
    p.add_argument("--n-samples", type=int, default=40, help="rows kept (random subsample)")
    p.add_argument("--n-features", type=int, default=2,
                   help="principal components kept; exact patterns need n-features + bias <= 3")
    p.add_argument("--no-bias", action="store_true", help="do not append a ones column (hidden-unit biases)")
    p.add_argument("--loss", choices=("auto", "squared", "logistic"), default="auto",
                   help="auto: logistic for classification sets (first class vs rest), squared otherwise")
    p.add_argument("--width", type=int, default=20, help="hidden units of the trained networks")
    p.add_argument("--beta", type=float, default=1e-3, help="weight decay beta")
    p.add_argument("--seeds", type=int, default=10, help="random initializations per optimizer")
    p.add_argument("--optimizers", default="sgd,adam", help="comma-separated subset of sgd,adam,lbfgs")
    p.add_argument("--epochs", type=int, default=1000, help="training epochs per run")
    p.add_argument("--batch-size", type=int, default=None, help="mini-batch size for sgd/adam (default: full batch)")
    p.add_argument("--lr-sgd", type=float, default=1e-3, help="SGD step size")
    p.add_argument("--lr-adam", type=float, default=1e-2, help="Adam step size")
    p.add_argument("--lr-lbfgs", type=float, default=1.0, help="L-BFGS step size")
    p.add_argument("--patterns", choices=("auto", "exact", "sample"), default="auto",
                   help="activation patterns of the convex program: exact enumeration (rank <= 3) or sampled")
    p.add_argument("--n-patterns", type=int, default=1000, help="random gates drawn when sampling patterns")
    p.add_argument("--solver", default="CLARABEL", help="CVXPY solver for the convex program")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="torch device for training")
    p.add_argument("--random-state", type=int, default=0, help="seed of the subsample and pattern sampling")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="save training objective vs time (convex optimum as a horizontal line) to this file")
    p.set_defaults(func=run)
    return p


def _plot(path: str, runs: list[tuple[str, int, list]], optimum: float, exact: bool, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"sgd": "tab:blue", "adam": "tab:orange", "lbfgs": "tab:green"}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    labelled = set()
    for name, _, history in runs:
        t = [h[0] for h in history]
        v = [h[2] for h in history]
        ax.plot(t, v, color=colors[name], alpha=0.6, lw=1, label=None if name in labelled else name)
        labelled.add(name)
    ax.axhline(optimum, color="k", ls="--", label="convex optimum" + ("" if exact else " (sampled patterns)"))
    ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("training objective")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from mlopt.mlp import ConvexReLU, ConvexReLUClassifier, TwoLayerReLU, TwoLayerReLUClassifier
    from mlopt.mlp.datasets import load_mlp_dataset

    optimizers = [o.strip() for o in args.optimizers.split(",") if o.strip()]
    bad = [o for o in optimizers if o not in ("sgd", "adam", "lbfgs")]
    if bad or not optimizers:
        print(f"error: --optimizers must be a comma-separated subset of sgd,adam,lbfgs, got {args.optimizers!r}",
              file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    try:
        X, y, task = load_mlp_dataset(args.dataset, target=args.target, n_samples=args.n_samples,
                                      n_features=args.n_features, random_state=args.random_state)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loss = args.loss if args.loss != "auto" else ("logistic" if task == "classification" else "squared")
    if loss == "logistic" and len(np.unique(y)) != 2:
        print("error: --loss logistic needs a binary target", file=sys.stderr)
        return 2
    bias = not args.no_bias
    lrs = {"sgd": args.lr_sgd, "adam": args.lr_adam, "lbfgs": args.lr_lbfgs}
    Convex = ConvexReLUClassifier if loss == "logistic" else ConvexReLU
    Net = TwoLayerReLUClassifier if loss == "logistic" else TwoLayerReLU

    try:
        convex = Convex(beta=args.beta, bias=bias, patterns=args.patterns, n_patterns=args.n_patterns,
                        solver=args.solver, random_state=args.random_state).fit(X, y)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: convex solve: {exc}", file=sys.stderr)
        return 1
    kind = "exact" if convex.patterns_exact_ else "sampled (upper bound on the global optimum)"
    print(f"data: {args.dataset}  n={X.shape[0]}  features={X.shape[1]}{' + bias' if bias else ''}  "
          f"loss={loss}  beta={args.beta:g}")
    print(f"convex: {convex.n_patterns_} patterns, {kind}; optimum {convex.convex_optimum_:.8g} "
          f"(recovered network {convex.objective_:.8g}, {convex.n_active_neurons_} neurons, "
          f"{convex.solve_time_:.2f} s)")
    if args.width < convex.n_active_neurons_:
        print(f"note: width {args.width} < {convex.n_active_neurons_} active neurons of the convex solution")

    runs = []
    print(f"{'optimizer':<10}{'seed':>5}{'objective':>16}{'gap':>12}{'time (s)':>10}")
    for name in optimizers:
        for seed in range(args.seeds):
            try:
                net = Net(width=args.width, beta=args.beta, bias=bias, optimizer=name, lr=lrs[name],
                          epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                          random_state=seed).fit(X, y)
            except (ValueError, TypeError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            gap = (net.objective_ - convex.convex_optimum_) / abs(convex.convex_optimum_)
            runs.append((name, seed, net.history_))
            print(f"{name:<10}{seed:>5}{net.objective_:>16.8g}{gap:>12.2e}{net.history_[-1][0]:>10.2f}")
    for name in optimizers:
        best = min(h[-1][2] for o, _, h in runs if o == name)
        print(f"best {name}: {best:.8g}   convex optimum: {convex.convex_optimum_:.8g}   "
              f"relative gap {(best - convex.convex_optimum_) / abs(convex.convex_optimum_):.2e}")
    if args.plot:
        _plot(args.plot, runs, convex.convex_optimum_, convex.patterns_exact_,
              f"{args.dataset}: two-layer ReLU, width {args.width}, beta {args.beta:g}")
        print(f"plot saved to {args.plot}")
    return 0
