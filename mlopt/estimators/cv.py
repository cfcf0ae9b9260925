"""Cross-validated linear models: pick a regularization value from a grid by K-fold CV.

For each fold (train Tₖ, validation Vₖ) one regularization path over the grid is
fitted on Tₖ with :func:`mlopt.paths.regularization_path` machinery (CVXPY solvers
canonicalize once per fold), each fit is scored on Vₖ, and the value with the best
mean score over folds is refitted on all data:

    v* = argmin_v  (1/K) Σₖ MSE_Vₖ(w_v^(k), b_v^(k))      (regressors, as scikit-learn's LassoCV)
    v* = argmax_v  (1/K) Σₖ score_Vₖ(w_v^(k), b_v^(k))    (``scoring`` given; classifiers: accuracy)

Ties go to the strongest regularization (first in ``alphas_`` descending / ``Cs_`` ascending).
"""
from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from mlopt.estimators.base import ConvexLinearModel, structured_supported
from mlopt.estimators.classification import LogisticRegression
from mlopt.estimators.regression import ElasticNet, Lasso, Ridge
from mlopt.paths import _as_rows, _path, alpha_grid
from mlopt.structured.batched_path import BATCHED_SETTINGS, batched_applicable

__all__ = ["LassoCV", "ElasticNetCV", "RidgeCV", "LogisticRegressionCV"]

_CV_PARAMS = {
    "fit_intercept": ["boolean"],
    "cv": ["cv_object"],
    "n_jobs": [numbers.Integral, None],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    **ConvexLinearModel._parameter_constraints,
}
_GRID = [Interval(numbers.Integral, 1, None, closed="left"), "array-like"]


def _explicit_grid(values, name: str, positive_only: bool = False) -> np.ndarray:
    """A user grid as a float array; ValueError naming ``name`` when empty, negative or not finite."""
    try:
        grid = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an int (grid size) or a list of numbers, got {values!r}") from exc
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name}: the grid must be a non-empty 1-d list of values, got {values!r}")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0) or (positive_only and np.any(grid == 0)):
        bound = "> 0" if positive_only else ">= 0"
        raise ValueError(f"{name}: every value must be finite and {bound}, got {grid.tolist()}")
    return grid


class _PathCV(BaseEstimator):
    """Shared K-fold path search; subclasses give the base model, the parameter and its grids."""

    _param = "alpha"

    # ------------------------------------------------------------------ hooks
    def _base_model(self) -> ConvexLinearModel:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grids(self, X, target, sample_weight) -> list[tuple[dict, np.ndarray]]:  # pragma: no cover
        """[(extra parameters, grid sorted strong → weak)], one entry per l1_ratio."""
        raise NotImplementedError

    def _is_regressor(self) -> bool:
        return not is_classifier(self)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Choose the regularization by cross-validation, then refit on all of (X, y)."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64,
                             y_numeric=self._is_regressor())
        X = _as_rows(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight: at least one sample needs a positive weight")
        base = self._base_model()
        if not self._is_regressor():
            check_classification_targets(y)
        target = base._encode_target(y, fit=True)
        if not self._is_regressor():
            self.classes_ = base.classes_
        grids = self._grids(X, target, sample_weight)
        folds = list(check_cv(self.cv, y, classifier=not self._is_regressor()).split(X, y))
        scorer = None if self.scoring is None and self._is_regressor() else check_scoring(
            self, "accuracy" if self.scoring is None and not self._is_regressor() else self.scoring)

        n_grid, n_values, n_folds = len(grids), len(grids[0][1]), len(folds)
        mse = np.full((n_grid, n_values, n_folds), np.inf)
        scores = np.full((n_grid, n_values, n_folds), -np.inf)
        models = [clone(base).set_params(**extra) for extra, _ in grids]
        # one task per (grid, fold), in processes when n_jobs asks for them (joblib, as scikit-learn)
        tasks = [(g, k) for g in range(n_grid) for k in range(n_folds)]
        out = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_path)(self, models[g], X, y, target, sample_weight, grids[g][1], folds[k], scorer)
            for g, k in tasks)
        fold_coefs = [[None] * n_folds for _ in range(n_grid)]
        for (g, k), (coefs, fold_mse, fold_scores) in zip(tasks, out):
            fold_coefs[g][k] = coefs
            mse[g, :, k] = fold_mse
            if fold_scores is not None:
                scores[g, :, k] = fold_scores
        coefs_paths = [np.stack(c) for c in fold_coefs]

        mean = -mse.mean(axis=2) if scorer is None else scores.mean(axis=2)
        mean = np.where(np.isnan(mean), -np.inf, mean)
        g_best, v_best = np.unravel_index(int(np.argmax(mean)), mean.shape)
        extra, values = grids[g_best]
        best = float(values[v_best])
        coef, intercept, n_iter, solution = self._refit(clone(base).set_params(**extra, **{self._param: best}),
                                                        X, y, target, sample_weight, best)

        self._store(grids, g_best, best, mse, scores if scorer is not None else None, coefs_paths)
        self.best_score_ = float(mean[g_best, v_best])
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = n_iter
        self.solution_ = solution
        return self

    def _refit(self, final, X, y, target, sample_weight, best):
        """The refit on all data: with solver="mlopt" on a squared-loss model, the same batched solve
        as the CV paths (a one-value path, :mod:`mlopt.structured.batched_path`); else ``final.fit``."""
        if self._is_regressor() and isinstance(final.solver, str) and final.solver.lower() == "mlopt" \
                and set(final.solver_options or {}) <= BATCHED_SETTINGS:
            objective = final._objective(X, target, sample_weight)
            if structured_supported(objective) and batched_applicable(objective):
                path = _path(final, X, target, sample_weight, self._param, [best])
                if path.statuses[0] in ("optimal", "optimal_inaccurate"):
                    intercept = path.intercepts[0]
                    intercept = float(intercept) if np.ndim(intercept) == 0 else intercept
                    return path.coefs[0], intercept, path.infos[0].iterations, path.infos[0]
        final.fit(X, y, sample_weight)
        return final.coef_, final.intercept_, final.n_iter_, final.solution_

    def _validation_mse(self, path, X, y, sample_weight) -> np.ndarray:
        """(Weighted) mean squared error of each path entry on the validation rows."""
        if not self._is_regressor():
            return np.full(path.n_values, np.inf)
        pred = np.asarray(X @ path.coefs.T) + path.intercepts[None, :]
        err = (np.asarray(y, dtype=float)[:, None] - pred) ** 2
        out = np.average(err, axis=0, weights=sample_weight)
        return np.where(np.isnan(out), np.inf, out)

    def _validation_scores(self, model, scorer, path, X, y, sample_weight, n_features) -> np.ndarray:
        out = np.full(path.n_values, -np.inf)
        for j in range(path.n_values):
            if not (np.all(np.isfinite(path.coefs[j])) and np.all(np.isfinite(path.intercepts[j]))):
                continue
            fitted = _fitted_copy(self, path.coefs[j], path.intercepts[j], n_features)
            kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
            out[j] = scorer(fitted, X, y, **kwargs)
        return out

    def _store(self, grids, g_best, best, mse, scores, coefs_paths) -> None:
        squeeze = len(grids) == 1
        self.mse_path_ = mse[0] if squeeze else mse
        if scores is not None:
            self.scores_ = scores[0].T if squeeze else np.transpose(scores, (0, 2, 1))
        self.coefs_paths_ = coefs_paths[0] if squeeze else np.stack(coefs_paths)
        values = np.stack([v for _, v in grids])
        setattr(self, f"{self._param}s_", values[0] if squeeze else values)
        setattr(self, f"{self._param}_", best)

    # ------------------------------------------------------------------ predict
    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return np.asarray(X @ np.asarray(self.coef_).T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _fold_path(cv_model, model, X, y, target, sample_weight, values, fold, scorer):
    """One (grid, fold) task: the path on the training rows, its validation MSE and scores."""
    train, test = fold
    sw_train = None if sample_weight is None else sample_weight[train]
    sw_test = None if sample_weight is None else sample_weight[test]
    path = _path(model, X[train], target[train], sw_train, cv_model._param, values)
    mse = cv_model._validation_mse(path, X[test], y[test], sw_test)
    scores = None if scorer is None else cv_model._validation_scores(model, scorer, path, X[test], y[test], sw_test,
                                                                     X.shape[1])
    return path.coefs, mse, scores


def _fitted_copy(cv_model, coef, intercept, n_features):
    """A fitted-looking shell of ``cv_model`` with the given coefficients (for scorers)."""
    shell = clone(cv_model)
    shell.coef_ = np.asarray(coef)
    shell.intercept_ = float(intercept) if np.ndim(intercept) == 0 else np.asarray(intercept)
    shell.n_features_in_ = n_features
    if hasattr(cv_model, "classes_"):
        shell.classes_ = cv_model.classes_
    return shell


class _RegressorCV(RegressorMixin, _PathCV):
    def predict(self, X) -> np.ndarray:
        """ŷ = Xw + b with the refitted coefficients."""
        return self._decision(X)


class ElasticNetCV(_RegressorCV):
    """Elastic net with α (and optionally ρ = l1_ratio) chosen by K-fold cross-validation.

    Model: 1/(2Σs) Σᵢ sᵢ(yᵢ − xᵢᵀw − b)² + αρ‖w‖₁ + ½α(1 − ρ)‖w‖² (see :class:`mlopt.ElasticNet`).

    Parameters
    ----------
    l1_ratio : float in [0, 1] or a list of them (searched jointly with α).
    eps : α_min / α_max of the automatic grid.
    alphas : int (size of the automatic grid, from α_max = ‖X_cᵀ(y − ȳ)‖∞/(nρ)
        geometrically down to eps·α_max, as scikit-learn) or a list of α ≥ 0.
    cv : None (5-fold), an int ≥ 2, a splitter or an iterable of (train, test) indices.
    scoring : None (validation MSE, as scikit-learn's LassoCV) or a scikit-learn scorer name/callable.
    fit_intercept, positive, solver, solver_options, device : as :class:`mlopt.ElasticNet`.
    n_jobs : None (one process) or the number of joblib workers for the (grid, fold) paths
        (−1: all cores); as scikit-learn, warnings of the fits in workers stay in the workers.

    Attributes
    ----------
    alpha_, l1_ratio_ : the chosen values; coef_, intercept_, n_iter_, solution_ : the refit;
    alphas_ : (n_alphas,) descending, or (n_l1_ratio, n_alphas);
    mse_path_ : (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds) validation MSE;
    scores_ : (n_folds, n_alphas) (only with ``scoring``); coefs_paths_ : per-fold paths;
    best_score_ : best mean validation score (−MSE without ``scoring``).
    """

    _parameter_constraints = {
        **_CV_PARAMS,
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), "array-like"],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "alphas": _GRID,
        "positive": ["boolean"],
    }

    def __init__(self, *, l1_ratio=0.5, eps: float = 1e-3, alphas=100, fit_intercept: bool = True,
                 positive: bool = False, cv=None, scoring=None, solver="clarabel",
                 solver_options: dict | None = None, device: str = "cpu", n_jobs: int | None = None):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.solver_options = solver_options
        self.device = device
        self.n_jobs = n_jobs

    def _base_model(self):
        return ElasticNet(fit_intercept=self.fit_intercept, positive=self.positive, solver=self.solver,
                          solver_options=self.solver_options, device=self.device)

    def _l1_ratios(self) -> list[float]:
        ratios = np.atleast_1d(np.asarray(self.l1_ratio, dtype=float))
        if ratios.ndim != 1 or ratios.size == 0 or np.any((ratios < 0) | (ratios > 1) | np.isnan(ratios)):
            raise ValueError(f"l1_ratio: expected values in [0, 1] (a float or a non-empty list), got {self.l1_ratio!r}")
        return ratios.tolist()

    def _grids(self, X, target, sample_weight):
        grids = []
        for ratio in self._l1_ratios():
            if isinstance(self.alphas, numbers.Integral):
                grid = alpha_grid(X, target, l1_ratio=ratio, n_alphas=int(self.alphas), eps=self.eps,
                                  fit_intercept=self.fit_intercept, positive=self.positive,
                                  sample_weight=sample_weight)
            else:
                grid = np.sort(_explicit_grid(self.alphas, "alphas"))[::-1]
            grids.append(({"l1_ratio": ratio}, grid))
        return grids

    def _store(self, grids, g_best, best, mse, scores, coefs_paths):
        super()._store(grids, g_best, best, mse, scores, coefs_paths)
        self.l1_ratio_ = float(grids[g_best][0]["l1_ratio"])


class LassoCV(ElasticNetCV):
    """The lasso with α chosen by K-fold cross-validation (scikit-learn's ``LassoCV``).

    Model: 1/(2Σs) Σᵢ sᵢ(yᵢ − xᵢᵀw − b)² + α‖w‖₁.  Parameters and attributes as
    :class:`ElasticNetCV` with ρ = 1 (no ``l1_ratio``).
    """

    _parameter_constraints = {key: value for key, value in ElasticNetCV._parameter_constraints.items()
                              if key != "l1_ratio"}

    def __init__(self, *, eps: float = 1e-3, alphas=100, fit_intercept: bool = True, positive: bool = False,
                 cv=None, scoring=None, solver="clarabel", solver_options: dict | None = None,
                 device: str = "cpu", n_jobs: int | None = None):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.solver_options = solver_options
        self.device = device
        self.n_jobs = n_jobs

    def _base_model(self):
        return Lasso(fit_intercept=self.fit_intercept, positive=self.positive, solver=self.solver,
                     solver_options=self.solver_options, device=self.device)

    def _l1_ratios(self):
        return [1.0]

    def _grids(self, X, target, sample_weight):
        return [({}, grid) for _, grid in super()._grids(X, target, sample_weight)]

    def _store(self, grids, g_best, best, mse, scores, coefs_paths):
        _PathCV._store(self, grids, g_best, best, mse, scores, coefs_paths)


class RidgeCV(_RegressorCV):
    """Ridge regression, Σᵢ sᵢ(yᵢ − xᵢᵀw − b)² + α‖w‖², with α chosen by K-fold cross-validation.

    Unlike scikit-learn's ``RidgeCV`` (whose default is efficient leave-one-out),
    ``cv=None`` means 5-fold; ``n_jobs`` as :class:`ElasticNetCV`.  ``alphas``: a list of α ≥ 0, or an int n for n values
    geometric from 10³·s down to 10⁻³·s, s = tr(X_cᵀX_c)/d (the mean eigenvalue).
    Attributes: ``alpha_``, ``alphas_`` (descending), ``mse_path_`` (n_alphas, n_folds),
    ``scores_`` (with ``scoring``), ``coef_``, ``intercept_``, ``n_iter_``, ``solution_``,
    ``best_score_``.
    """

    _parameter_constraints = {**_CV_PARAMS, "alphas": _GRID}

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept: bool = True, cv=None, scoring=None,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu",
                 n_jobs: int | None = None):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.solver_options = solver_options
        self.device = device
        self.n_jobs = n_jobs

    def _base_model(self):
        return Ridge(fit_intercept=self.fit_intercept, solver=self.solver, solver_options=self.solver_options,
                     device=self.device)

    def _grids(self, X, target, sample_weight):
        if isinstance(self.alphas, numbers.Integral):
            Xd = X.toarray() if hasattr(X, "toarray") else X
            Xc = Xd - Xd.mean(axis=0) if self.fit_intercept else Xd
            scale = max(float(np.sum(Xc**2)) / max(X.shape[1], 1), np.finfo(float).tiny)
            return [({}, np.geomspace(1e3 * scale, 1e-3 * scale, num=int(self.alphas)))]
        return [({}, np.sort(_explicit_grid(self.alphas, "alphas"))[::-1])]


class LogisticRegressionCV(ClassifierMixin, _PathCV):
    """Logistic regression with C chosen by stratified K-fold cross-validation.

    Model: C·Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + (1 − ρ)/2‖w‖² + ρ‖w‖₁ (see :class:`mlopt.LogisticRegression`;
    multinomial for more than two classes).

    Parameters
    ----------
    Cs : int n (n values of np.logspace(−4, 4, n), as scikit-learn) or a list of C > 0.
    l1_ratio : ρ ∈ [0, 1], fixed.
    cv : None (5-fold, stratified), an int ≥ 2, a splitter or an iterable of splits.
    scoring : None (accuracy, scikit-learn's current default), "neg_log_loss", or any scorer.
    fit_intercept, solver, solver_options, device : as :class:`mlopt.LogisticRegression`.
    n_jobs : None (one process) or the number of joblib workers for the fold paths (as :class:`ElasticNetCV`).

    Attributes
    ----------
    C_ : float; Cs_ : (n_Cs,) ascending; scores_ : (n_folds, n_Cs) validation scores;
    coefs_paths_ : (n_folds, n_Cs, n_rows, n_features); best_score_; classes_, coef_,
    intercept_, n_iter_, solution_ : the refit on all data.
    """

    _param = "C"
    _parameter_constraints = {
        **_CV_PARAMS,
        "Cs": _GRID,
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, *, Cs=10, l1_ratio: float = 0.0, fit_intercept: bool = True, cv=None, scoring=None,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu",
                 n_jobs: int | None = None):
        self.Cs = Cs
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.solver_options = solver_options
        self.device = device
        self.n_jobs = n_jobs

    def _base_model(self):
        return LogisticRegression(l1_ratio=self.l1_ratio, fit_intercept=self.fit_intercept, solver=self.solver,
                                  solver_options=self.solver_options, device=self.device)

    def _grids(self, X, target, sample_weight):
        if isinstance(self.Cs, numbers.Integral):
            return [({}, np.logspace(-4, 4, int(self.Cs)))]
        return [({}, np.sort(_explicit_grid(self.Cs, "Cs", positive_only=True)))]

    def _store(self, grids, g_best, best, mse, scores, coefs_paths):
        super()._store(grids, g_best, best, mse, scores, coefs_paths)
        del self.mse_path_

    def decision_function(self, X) -> np.ndarray:
        """Scores xᵀw + b: (n,) for two classes (positive ↔ ``classes_[1]``), else (n, K)."""
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X) -> np.ndarray:
        """σ(z) for two classes, softmax(z) for more."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None) -> float:
        """The ``scoring`` metric on (X, y) (accuracy when None), as scikit-learn's LogisticRegressionCV."""
        scorer = check_scoring(self, "accuracy" if self.scoring is None else self.scoring)
        return scorer(self, X, y, **({} if sample_weight is None else {"sample_weight": sample_weight}))
