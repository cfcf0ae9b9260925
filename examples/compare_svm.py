"""Compare solvers on the svm model (breast_cancer data): table + convergence plot (compare_svm.png)."""
import sys

from sklearn.model_selection import train_test_split

from mlopt.compare import compare, make_model, plot_convergence
from mlopt.datasets import load_dataset

data = load_dataset("breast_cancer")
y = data.y if data.task == "classification" else (data.y - data.y.mean()) / data.y.std()
X_tr, X_te, y_tr, y_te = train_test_split(data.X, y, test_size=0.25, random_state=0)
table = compare(make_model("svm", C=0.1), X_tr, y_tr, methods=["clarabel", "ecos", "mlopt", "smoothed", "subgradient", "sklearn"],
                X_test=X_te, y_test=y_te, time_limit=float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, progress=True)
print(table)
plot_convergence(table, "compare_svm.png")
