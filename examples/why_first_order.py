"""Why machine learning uses first-order methods.

An interior-point method (Clarabel, mlopt's IPM) solves a logistic regression to
1e-8 in ~25 iterations, but each iteration factors a KKT system that grows with the
number of samples n (exponential cones per sample).  A gradient method's iteration
costs one pass over the data, O(nd), and ML rarely needs more than 1e-3–1e-4
relative accuracy (the statistical error is larger).  This script times both as n
grows, to reach a loose (1e-4) and a tight (1e-8) certified gap, and saves
why_first_order.png.
"""
import sys
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mlopt import LogisticRegression
from mlopt.datasets import make_classification
from mlopt.firstorder import minimize

sizes = [int(s) for s in sys.argv[1:]] or [500, 2000, 8000, 32000]
rows = []
for n in sizes:
    X, y, _ = make_classification(n, 20, random_state=0)
    est = LogisticRegression(C=10.0 / n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        est.fit(X, y)
        t_ipm = time.perf_counter() - t
    obj = est.get_objective(X, y)
    t_loose = minimize(obj, "lbfgs", tol=1e-4).solve_time
    t_tight = minimize(obj, "lbfgs", tol=1e-8).solve_time
    t_sgd = minimize(obj, "sgd", tol=1e-4, time_limit=60).solve_time
    rows.append((n, t_ipm, t_loose, t_tight, t_sgd))
    print(f"n={n:6d}  clarabel {t_ipm:7.3f}s   lbfgs@1e-4 {t_loose:7.3f}s   lbfgs@1e-8 {t_tight:7.3f}s   sgd@1e-4 {t_sgd:7.3f}s")

r = np.array(rows)
plt.figure(figsize=(6, 4))
for j, label in enumerate(["interior point (Clarabel, 1e-8)", "L-BFGS to gap 1e-4", "L-BFGS to gap 1e-8",
                           "SGD to gap 1e-4"], start=1):
    plt.loglog(r[:, 0], r[:, j], "o-", label=label)
plt.xlabel("samples n")
plt.ylabel("time [s]")
plt.title("logistic regression, d = 20")
plt.legend()
plt.grid(True, which="both", alpha=0.3)
plt.tight_layout()
plt.savefig("why_first_order.png", dpi=110)
