"""Structured fast path: linear models as conic programs without CVXPY, solved by the IPM
with a KKT backend that eliminates the per-sample blocks (one d×d system per Newton step).

    coef, intercept, info = fit_objective(objective)          # any supported Objective
    problem = assemble(objective)                              # the conic data + structure
    path = fit_path_batched(objective, alphas)                 # squared loss: all alphas in one batched IPM
    path = fit_logistic_path_batched(objective, Cs, ridges)    # ℓ₂-logistic: Newton over the Cs, certified

A large linear SVM is solved by sample screening (:mod:`mlopt.structured.hinge_screen`, ``fit_objective``'s
``screen``): the IPM sees only the samples near the margin, and the gap is checked on all of them.
"""
from mlopt.structured.assemble import StructuredProblem, assemble
from mlopt.structured.batched_path import BatchedPathResult, fit_path_batched
from mlopt.structured.fit import fit_objective
from mlopt.structured.logistic_path import fit_logistic_path_batched

__all__ = ["BatchedPathResult", "StructuredProblem", "assemble", "fit_logistic_path_batched", "fit_objective",
           "fit_path_batched"]
