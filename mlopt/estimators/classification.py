"""Linear classifiers as conic programs, with scikit-learn's objectives.

Labels are encoded once: binary problems use y ∈ {−1, +1} (``classes_[1]`` is +1)
and one coefficient row; multiclass problems use one-hot targets with the
multinomial loss, or ±1 targets per class (one-vs-rest) with margin losses.
"""
from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets

from mlopt.estimators.base import ConvexLinearModel, positive_float, sample_weight_sum
from mlopt.losses import HingeLoss, LogisticLoss, MultinomialLoss, get_loss
from mlopt.objective import Objective
from mlopt.penalties import PENALTIES, ElasticNetPenalty, get_penalty

__all__ = ["LogisticRegression", "LinearSVC", "ConvexLinearClassifier"]


class _Classifier(ClassifierMixin, ConvexLinearModel):
    """Label encoding, ``decision_function`` and ``predict`` shared by the classifiers."""

    def _encode_target(self, y, fit: bool = True):
        check_classification_targets(y)
        if fit:
            classes = np.unique(y)
            if classes.size < 2:
                raise ValueError(f"y: this classifier needs samples of at least 2 classes in the data, "
                                 f"but the data contains only one class: {classes[0]!r}")
            self.classes_ = classes
        index = np.searchsorted(self.classes_, y)
        if np.any(index >= self.classes_.size) or np.any(self.classes_[np.minimum(index, self.classes_.size - 1)] != y):
            raise ValueError(f"y contains labels not seen during fit; known classes are {self.classes_.tolist()}")
        if self.classes_.size == 2:
            return np.where(index == 1, 1.0, -1.0)
        if self._multiclass_loss().name == "multinomial":
            return np.eye(self.classes_.size)[index]
        return np.where(np.eye(self.classes_.size)[index] == 1, 1.0, -1.0)

    def _multiclass_loss(self):
        """Loss used when there are more than two classes."""
        return self._binary_loss()

    def _loss_for(self, target):
        return self._binary_loss() if target.ndim == 1 else self._multiclass_loss()

    def _store(self, coef, intercept, extra):
        if coef.ndim == 1:
            self.coef_ = coef.reshape(1, -1)
            self.intercept_ = np.atleast_1d(np.asarray(intercept, dtype=float)).copy()
        else:
            self.coef_ = coef.T.copy()
            intercept = np.asarray(intercept, dtype=float)
            if self._multiclass_loss().name == "multinomial":
                intercept = intercept - intercept.mean()  # softmax is invariant to a common shift
            self.intercept_ = intercept

    def decision_function(self, X) -> np.ndarray:
        """Scores xᵀw + b: shape (n,) for two classes (positive ↔ ``classes_[1]``), else (n, K)."""
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        """The class with the largest score."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]


class LogisticRegression(_Classifier):
    """L2 (or elastic-net) logistic regression as an exponential-cone program.

    minimize over (w, b):  C · Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + (1 − ρ)/2 ‖w‖² + ρ‖w‖₁

    with ℓ the logistic loss log(1 + exp(−y z)) for two classes and the
    multinomial loss log Σₖ exp(zₖ) − z_y for more (W is d × K, penalized in
    Frobenius norm), ρ = ``l1_ratio`` (default 0: pure L2).  This is
    scikit-learn's ``LogisticRegression`` objective; ``C=np.inf`` drops the penalty.
    Conic form: two exponential cones per sample (binary) or K per sample
    (multinomial, via log-sum-exp), plus a second-order cone for ‖w‖.

    Parameters: ``C`` > 0, ``l1_ratio`` ∈ [0, 1], ``fit_intercept``, ``solver``,
    ``solver_options``, ``device``.
    Attributes: ``classes_``, ``coef_`` (1, d) or (K, d), ``intercept_`` (1,) or (K,)
    (multinomial intercepts are centred to sum to 0), ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = {
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
    }

    def __init__(self, C: float = 1.0, *, l1_ratio: float = 0.0, fit_intercept: bool = True,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _binary_loss(self):
        return LogisticLoss()

    def _multiclass_loss(self):
        return MultinomialLoss()

    def _objective(self, X, target, sample_weight):
        unpenalized = np.isinf(self.C)
        return Objective(X, target, self._loss_for(target), ElasticNetPenalty(),
                         alpha=0.0 if unpenalized else 1.0, loss_weight=1.0 if unpenalized else float(self.C),
                         l1_ratio=self.l1_ratio, sample_weight=sample_weight, fit_intercept=self.fit_intercept)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: σ(z) for two classes, softmax(z) for more."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))


class LinearSVC(_Classifier):
    """Soft-margin linear SVM (hinge loss) as a quadratic / second-order-cone program.

    minimize over (w, b):  C · Σᵢ sᵢ max(0, 1 − yᵢ(xᵢᵀw + b)) + ½‖w‖²

    with an unpenalized intercept: the objective of ``sklearn.svm.SVC(kernel="linear", C)``
    (not of ``sklearn.svm.LinearSVC``, which penalizes the intercept and uses the
    squared hinge).  More than two classes: one-vs-rest, one column of W per
    class, solved as one separable program.  Conic form: nonnegative cones for the
    hinge, a second-order cone (or quadratic objective) for ‖w‖².

    Parameters: ``C`` > 0, ``fit_intercept``, ``solver``, ``solver_options``, ``device``.
    Attributes: ``classes_``, ``coef_``, ``intercept_``, ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = {
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
    }

    def __init__(self, C: float = 1.0, *, fit_intercept: bool = True, solver="clarabel",
                 solver_options: dict | None = None, device: str = "cpu"):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _binary_loss(self):
        return HingeLoss()

    def _objective(self, X, target, sample_weight):
        return Objective(X, target, HingeLoss(), get_penalty("l2"), alpha=1.0, loss_weight=float(self.C),
                         sample_weight=sample_weight, fit_intercept=self.fit_intercept)


class ConvexLinearClassifier(_Classifier):
    """Any classification loss × penalty, as a conic program.

    minimize over (w, b):  1/Σsᵢ · Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + α·R(w)

    ``loss`` ∈ {"logistic", "hinge", "squared_hinge"}; with more than two classes
    "logistic" becomes the multinomial loss and the margin losses go one-vs-rest.
    ``penalty`` as in :class:`mlopt.ConvexLinearRegressor`.
    """

    _parameter_constraints = {
        "loss": [StrOptions({"logistic", "hinge", "squared_hinge"})],
        "penalty": [StrOptions(set(PENALTIES)), None],
        "alpha": [positive_float()],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "groups": ["array-like", list, None],
        "fit_intercept": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
    }

    def __init__(self, loss: str = "logistic", penalty: str | None = "l2", *, alpha: float = 1e-2,
                 l1_ratio: float = 0.5, groups=None, fit_intercept: bool = True, solver="clarabel",
                 solver_options: dict | None = None, device: str = "cpu"):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.groups = groups
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _binary_loss(self):
        return get_loss(self.loss)

    def _multiclass_loss(self):
        return MultinomialLoss() if self.loss == "logistic" else get_loss(self.loss)

    def _objective(self, X, target, sample_weight):
        return Objective(X, target, self._loss_for(target), get_penalty(self.penalty, self.groups),
                         alpha=self.alpha, loss_weight=1.0 / sample_weight_sum(sample_weight, X.shape[0]),
                         l1_ratio=self.l1_ratio, sample_weight=sample_weight, fit_intercept=self.fit_intercept)
