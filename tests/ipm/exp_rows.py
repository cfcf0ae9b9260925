"""The exponential-cone barrier functions with one point per row.

The library batches k exp-cone points component-first, as (3, k) tensors; these tests list
points as rows, (k, 3), which reads (and differentiates with vmap) naturally.  Each adapter
only transposes: (k, 3) ↔ (3, k) and (k, 3, 3) ↔ (3, 3, k).
"""
from __future__ import annotations

from mlopt.ipm.cones import exp_barrier as eb
from mlopt.ipm.cones.exp_barrier import wright_omega  # noqa: F401  (elementwise, no layout)


def dual_feasible(z):
    return eb.dual_feasible(z.T)


def dual_r(z):
    return eb.dual_r(z.T)


def dual_barrier(z):
    return eb.dual_barrier(z.T)


def dual_grad_hess(z):
    """∇f*(z) (k, 3) and ∇²f*(z) (k, 3, 3), the Hessian as WᵀW of the library's factor (a sum of PSD terms)."""
    g, W = eb.dual_grad_factor(z.T)
    return g.T, eb.factor_gram(W).permute(2, 0, 1)


def dual_hess_solve(z, p):
    q, theta = eb.dual_hess_solve(z.T, p.T)
    return q.T, theta


def dual_hess_inv_quad(z, x):
    return eb.dual_hess_inv_quad(z.T, x.T)


def dual_third_order(z, p, q, theta):
    return eb.dual_third_order(z.T, p.T, q.T, theta).T


def primal_feasible(s):
    return eb.primal_feasible(s.T)


def primal_grad(s):
    return eb.primal_grad(s.T).T


def primal_barrier(s):
    return eb.primal_barrier(s.T)


def scaling_rows(grp):
    """A group's H as (k, 3, 3) and ∇²f*(z) at its last scaled point (from its factor W_dual) likewise."""
    return grp.Hs.permute(2, 0, 1), eb.factor_gram(grp.W_dual).permute(2, 0, 1)
