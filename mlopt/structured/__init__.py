"""Structured fast path: linear models as conic programs without CVXPY, solved by the IPM
with a KKT backend that eliminates the per-sample blocks (one d×d system per Newton step).

    coef, intercept, info = fit_objective(objective)          # any supported Objective
    problem = assemble(objective)                              # the conic data + structure
"""
from mlopt.structured.assemble import StructuredProblem, assemble
from mlopt.structured.fit import fit_objective

__all__ = ["StructuredProblem", "assemble", "fit_objective"]
