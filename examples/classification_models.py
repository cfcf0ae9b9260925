"""Binary logistic regression and the linear SVM on breast_cancer, multinomial
logistic regression on wine, as cone programs solved by Clarabel, ECOS and SCS,
next to scikit-learn (tight tolerance).

Run: python examples/classification_models.py
"""
from sklearn import linear_model, svm

import mlopt
from mlopt.datasets import load_dataset
from solver_table import check, fit_solvers, flat, print_table, timed

cancer = load_dataset("breast_cancer")  # 569 × 30, two classes, standardized
wine = load_dataset("wine")  # 178 × 13, three classes, standardized

MODELS = [
    # title, data, mlopt factory, scikit-learn reference, coefficient tolerance
    ("LogisticRegression(C=1), breast_cancer: min C Σ log(1 + exp(−yᵢzᵢ)) + ½‖w‖²", cancer,
     lambda s, o: mlopt.LogisticRegression(C=1.0, solver=s, solver_options=o),
     linear_model.LogisticRegression(C=1.0, tol=1e-12, max_iter=100_000), 1e-4),
    ("LogisticRegression(C=1), wine (3 classes): min C Σ [log Σₖ exp(zᵢₖ) − zᵢ,yᵢ] + ½‖W‖²", wine,
     lambda s, o: mlopt.LogisticRegression(C=1.0, solver=s, solver_options=o),
     linear_model.LogisticRegression(C=1.0, tol=1e-12, max_iter=100_000), 1e-4),
    ("LinearSVC(C=1) ↔ SVC(kernel='linear'), breast_cancer: min C Σ max(0, 1 − yᵢzᵢ) + ½‖w‖²", cancer,
     lambda s, o: mlopt.LinearSVC(C=1.0, solver=s, solver_options=o),
     svm.SVC(kernel="linear", C=1.0, tol=1e-10), 1e-4),
]

for title, data, make, sk, tol in MODELS:
    X, y = data.X, data.y
    sk_seconds = timed(lambda: sk.fit(X, y))
    coef = sk.coef_.ravel() if sk.coef_.shape[0] == 1 else sk.coef_.T  # mlopt's objective takes (d,) or (d, K)
    sk_objective = make("clarabel", None).get_objective(X, y).value(coef, sk.intercept_)
    rows = fit_solvers(make, X, y, flat(sk.coef_, sk.intercept_))
    print_table(title, rows, sk_objective, sk_seconds)
    check(rows, sk_objective, coef_tol=tol)
print("\nall classifiers agree with scikit-learn")
