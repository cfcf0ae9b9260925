"""One batched solve (active set, then interior point) for a whole regularization path of squared-loss models.

Members b = 1..B share the Gram data of the loss (Φ = [X, 1], θ = [w; β], S = diag(c)):

    minimize_θ  ½θᵀGθ − gᵀθ + const + λ₁ᵦ‖w‖₁ + ½λ₂ᵦ‖w‖²      (optionally w ≥ 0),
    G = ΦᵀSΦ,  g = ΦᵀSy,  const = ½Σcᵢyᵢ²,  λ₁ᵦ = αᵦc₁,  λ₂ᵦ = αᵦc₂,

with R = c₁‖w‖₁ + c₂·½‖w‖² the elastic-net convention (c₁ = ρ, c₂ = 1 − ρ) and the
intercept β unpenalized.  G is built once (numpy's XᵀX on CPU, a torch GEMM on CUDA) and shared by
the batch.

Per chunk of members (:func:`_solve_chunk`): screening (w = 0 exact) and ridge members (one
Cholesky) first, then the active-set start (:mod:`mlopt.structured.active_set`: block
principal pivoting, exact and certified, typically 2–6 restricted solves), then the batched IPM
(:mod:`mlopt.structured.batched_ipm`: QP forms, Newton step, stopping rule, masking, polish) for
the members the active set does not certify.  ``BatchedPathResult.methods`` says which finished
each member.  This module validates inputs, builds the shared Gram data and assembles the
per-member results.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.ipm.solver import torch_compute
from mlopt.structured.active_set import ACTIVE_SET_STEPS, active_set_solve
from mlopt.structured.batched_ipm import (MAXIT, METHOD_NAMES, STATUS_NAMES, Outputs, Scaled, ipm, ridge, scale, sync,
                                         write_exact)
from mlopt.objective import Objective, ScaledHuberObjective
from mlopt.structured.assemble import prepare_data
from mlopt.structured.gram import GRAM_MAX_FEATURES, GramProblem, gram_applicable, loss_gram

__all__ = ["BatchedPathResult", "GramData", "batched_applicable", "fit_path_batched", "gram_data", "model_objectives"]

#: bytes allowed for the (chunk, p, p) stacks (matrix, factor, a temporary) when ``chunk_size=None``
_CHUNK_BYTES = 1 << 30

#: the IPM settings / solver options this solver understands (callers keep the general IPM for any other)
BATCHED_SETTINGS = frozenset({"tol", "max_iter", "cpu_threads"})


@dataclass
class GramData:
    """Shared data of the batch: f(θ) = ½θᵀGθ − gᵀθ + constant, θ = [w (d); β (if fit_intercept)]."""

    G: torch.Tensor  # (p, p)
    g: torch.Tensor  # (p,)
    constant: float
    n_features: int
    fit_intercept: bool

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.fit_intercept)


@dataclass
class BatchedPathResult:
    """Per-member results, in the order of ``alphas`` given (NaN coefficients for members whose
    status is max_iterations or numerical_error).

    ``primal_objectives`` is the model's objective f(w, β) + penalty (const included) at the
    returned point, ``dual_objectives`` the QP's dual objective (+ const), ``gaps`` the
    absolute duality gap P − D of the IPM (0-iteration members: ridge closed form and
    screened members report |f − D| of their exact solve), ``relative_gaps`` = gap /
    max(1, |primal objective|).  ``time`` is the wall time of the call (Gram data included).
    """

    alphas: np.ndarray
    l1_ratios: np.ndarray
    coefs: np.ndarray  # (B, d)
    intercepts: np.ndarray  # (B,)
    statuses: List[str]
    iterations: np.ndarray  # restricted solves of the active-set start + IPM iterations
    primal_objectives: np.ndarray
    dual_objectives: np.ndarray
    gaps: np.ndarray
    relative_gaps: np.ndarray
    primal_residuals: np.ndarray
    dual_residuals: np.ndarray
    time: float
    setup_time: float
    solve_time: float
    device: str
    methods: List[str] = dataclasses.field(default_factory=list)  # "closed_form", "active_set" or "ipm" per member

    @property
    def n_members(self) -> int:
        return len(self.alphas)


# --------------------------------------------------------------------------- input checks
def _check_device(device) -> torch.device:
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:k'), got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but torch.cuda.is_available() is False; use device='cpu'")
    return dev


def _positive_int(value, name: str, optional: bool) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be {'None or ' if optional else ''}a positive integer, got {value!r}")


def check_solve_options(tol, max_iter, chunk_size, cpu_threads) -> None:
    """ValueError naming the option unless tol > 0 is finite, max_iter ≥ 1, and chunk_size, cpu_threads
    are None or ≥ 1 (the options of the batched path solvers)."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    _positive_int(max_iter, "max_iter", optional=False)
    _positive_int(chunk_size, "chunk_size", optional=True)
    _positive_int(cpu_threads, "cpu_threads", optional=True)


def _check_alphas(alphas) -> np.ndarray:
    if alphas is None or isinstance(alphas, (str, bytes)):
        raise TypeError(f"alphas must be a non-empty 1-d sequence of numbers >= 0, got {alphas!r}")
    try:
        a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"alphas must be a non-empty 1-d sequence of numbers >= 0, got {alphas!r}") from exc
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"alphas must be finite and >= 0, got {a.tolist()}")
    return a


def _check_ratios(l1_ratio, n: int) -> np.ndarray:
    try:
        r = np.asarray(l1_ratio, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"l1_ratio must be a number in [0, 1] or one per alpha, got {l1_ratio!r}") from exc
    if r.ndim == 0:
        r = np.full(n, float(r))
    if r.shape != (n,):
        raise ValueError(f"l1_ratio must be a scalar or have one value per alpha ({n}), got shape {r.shape}")
    if np.any(np.isnan(r)) or np.any((r < 0) | (r > 1)):
        raise ValueError(f"l1_ratio values must lie in [0, 1], got {r.tolist()}")
    return r


def _penalty_split(penalty_name: str, ratios: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(c₁, c₂) per member for a penalty named ``penalty_name`` (R = c₁‖w‖₁ + c₂·½‖w‖²)."""
    if penalty_name == "none":
        return np.zeros_like(ratios), np.zeros_like(ratios)
    if penalty_name == "l2":
        return np.zeros_like(ratios), np.ones_like(ratios)
    if penalty_name == "l1":
        return np.ones_like(ratios), np.zeros_like(ratios)
    return ratios.copy(), 1.0 - ratios  # elasticnet


def batched_applicable(objective: Objective) -> bool:
    """Whether :func:`fit_path_batched` covers ``objective``: squared loss, one output, penalty
    none/l2/l1/elasticnet, no ``bounds`` (``positive`` is fine), d ≤ GRAM_MAX_FEATURES (d > n allowed)."""
    if not isinstance(objective, Objective) or isinstance(objective, ScaledHuberObjective):
        return False
    if objective.bounds is not None:
        return False
    if gram_applicable(objective):
        return True
    # gram_applicable also asks d ≤ n (a per-sample form is cheaper for one solve); the batch
    # shares one (d+1)² Gram matrix, which stays the right form when d > n
    return (objective.loss.name == "squared" and np.ndim(objective.y) == 1
            and objective.penalty.name in ("none", "l2", "l1", "elasticnet")
            and objective.n_features <= GRAM_MAX_FEATURES)


def gram_data(objective: Objective, device: Union[str, torch.device] = "cpu") -> GramData:
    """G = ΦᵀSΦ, g = ΦᵀSy, ½Σcᵢyᵢ² of a squared-loss ``objective`` (cᵢ = loss_weight·sᵢ), on ``device``.

    Dense X on CUDA: one torch GEMM on the device; on CPU, or sparse X: :func:`~mlopt.structured.gram.loss_gram`.
    """
    dev = _check_device(device)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a mlopt.objective.Objective, got {type(objective).__name__}")
    if objective.loss.name != "squared":
        raise ValueError(f"objective: the batched path needs the squared loss, got {objective.loss.name!r}")
    d, nb = objective.n_features, int(bool(objective.fit_intercept))
    if sp.issparse(objective.X) or dev.type == "cpu":  # numpy's XᵀX (a SYRK) beats a torch GEMM on CPU (2-4×)
        G, g, constant = loss_gram(objective)
        return GramData(G=torch.as_tensor(G, dtype=torch.float64, device=dev),
                        g=torch.as_tensor(g, dtype=torch.float64, device=dev),
                        constant=constant, n_features=d, fit_intercept=bool(nb))
    X, y, c = prepare_data(objective)
    Xt = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float64, device=dev)
    ct = torch.as_tensor(c, dtype=torch.float64, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float64, device=dev)
    uniform = bool(np.all(c == c[0]))
    Bm = Xt if uniform else Xt * ct.sqrt()[:, None]
    XtSX = Bm.T @ Bm
    if uniform:
        XtSX = XtSX * float(c[0])
    cy = ct * yt
    p = d + nb
    G = torch.zeros((p, p), dtype=torch.float64, device=dev)
    G[:d, :d] = 0.5 * (XtSX + XtSX.T)
    g = torch.zeros(p, dtype=torch.float64, device=dev)
    g[:d] = Xt.T @ cy
    if nb:
        colsum = ct @ Xt
        G[:d, d] = colsum
        G[d, :d] = colsum
        G[d, d] = ct.sum()
        g[d] = cy.sum()
    return GramData(G=G, g=g, constant=0.5 * float(c @ (y * y)), n_features=d, fit_intercept=bool(nb))


def _gram_from_problem(problem: GramProblem, dev: torch.device) -> GramData:
    p = problem.n_features + int(problem.fit_intercept)
    if problem.P.shape != (p, p) or problem.b.size:
        raise ValueError("objective_or_gram: a GramProblem must come from assemble_gram of an objective with "
                         "alpha=0, positive=False and no bounds (no penalty columns or rows); "
                         "the penalty is given by alphas / l1_ratio / positive")
    return GramData(G=torch.as_tensor(problem.P, dtype=torch.float64, device=dev),
                    g=torch.as_tensor(-np.asarray(problem.q), dtype=torch.float64, device=dev),
                    constant=float(problem.constant), n_features=problem.n_features,
                    fit_intercept=bool(problem.fit_intercept))


def _solve_chunk(sc: Scaled, data: GramData, lam1: np.ndarray, lam2: np.ndarray, positive: bool, tol: float,
                 max_iter: int, out: Outputs, sl: slice) -> None:
    """Solve one chunk of members and write into ``out[sl]``: screening (w = 0 exact), ridge
    members by Cholesky, the active-set start (:mod:`~mlopt.structured.active_set`), and
    the batched IPM for the members it does not certify."""
    dev, d = sc.G.device, sc.d
    idx_all = np.arange(sl.start, sl.stop)
    l1 = torch.as_tensor(lam1, dtype=torch.float64, device=dev)
    l2 = torch.as_tensor(lam2, dtype=torch.float64, device=dev)
    dw = sc.delta[:d]
    L1 = l1[:, None] * dw[None, :]  # scaled per-feature weights
    L2 = l2[:, None] * dw[None, :] ** 2

    plain = (l1 == 0) & torch.tensor(not positive, device=dev)  # no ℓ₁ part, w free: one Cholesky
    todo = ~plain
    # ---- screening: w = 0 optimal (exact) for members with an ℓ₁ part or w ≥ 0
    if bool(todo.any()):
        theta0 = torch.zeros(sc.G.shape[0], dtype=torch.float64, device=dev)
        if sc.nb:
            theta0[d] = sc.g[d] / sc.G[d, d]
        grad = (sc.G @ theta0 - sc.g)[:d]
        if positive:
            zero_ok = (-grad[None, :] <= L1).all(dim=1)
        else:
            zero_ok = (grad.abs()[None, :] <= L1).all(dim=1)
        zero_ok &= todo
        if bool(zero_ok.any()):
            k = zero_ok.nonzero().squeeze(1)
            th = theta0.expand(len(k), -1).clone()
            write_exact(sc, th, L1[k], L2[k], idx_all[k.cpu().numpy()], out)
        todo &= ~zero_ok
    if bool(plain.any()):
        k = plain.nonzero().squeeze(1)
        ridge(sc, L2[k], idx_all[k.cpu().numpy()], out)
    if bool(todo.any()):
        k = todo.nonzero().squeeze(1)
        left, spent = active_set_solve(sc, data.constant, theta0, L1[k], L2[k], positive, tol,
                                        idx_all[k.cpu().numpy()], out, min(ACTIVE_SET_STEPS, max_iter))
        k, spent = k[left], spent[left.cpu().numpy()]
        if k.numel():  # the IPM's iteration count includes the restricted solves spent before it
            rows = idx_all[k.cpu().numpy()]
            ipm(sc, data.constant, L1[k], L2[k], positive, tol, max_iter, rows, out)
            out.iters[rows] += spent


# --------------------------------------------------------------------------- public entry
def fit_path_batched(objective_or_gram: Union[Objective, GramProblem, GramData], alphas: Sequence[float], *,
                     l1_ratio: Optional[Union[float, Sequence[float]]] = None, positive: Optional[bool] = None,
                     device: Union[str, torch.device] = "cpu", tol: float = 1e-8, max_iter: int = 100,
                     chunk_size: Optional[int] = None, cpu_threads: Optional[int] = 1) -> BatchedPathResult:
    """Solve min ½θᵀGθ − gᵀθ + const + αᵦ(c₁‖w‖₁ + c₂·½‖w‖²) [w ≥ 0] for every αᵦ in one batched IPM.

    Parameters
    ----------
    objective_or_gram : an :class:`~mlopt.objective.Objective` (squared loss, penalty none/l2/l1/
        elasticnet, no bounds; its ``alpha`` is replaced by each of ``alphas``, (c₁, c₂) come from its
        penalty and ``l1_ratio``, ``positive`` from it), or Gram data (:class:`GramData`, or a
        :class:`~mlopt.structured.gram.GramProblem` assembled with alpha=0) with the elastic-net
        penalty c₁ = ρ, c₂ = 1 − ρ (ρ = ``l1_ratio``, default 1: the lasso).
    alphas : (B,) values ≥ 0 of the objective's α (for an estimator these are its objective's
        α, e.g. ``Ridge``'s objective uses 2·alpha).
    l1_ratio : None (the objective's), a number in [0, 1] or one per alpha.
    positive : None (the objective's; False for Gram data) or a bool: constrain w ≥ 0.
    device : "cpu" or "cuda".  tol : stopping tolerance (see the module docstring).
    max_iter : IPM iteration limit per member; the active-set start before it takes at most
        min(ACTIVE_SET_STEPS, max_iter) restricted solves, counted in ``iterations`` too.
    chunk_size : members per batched solve (memory ≈ 3·chunk·p² floats); None picks the largest
        chunk within 1 GiB.
    cpu_threads : torch intra-op threads during the solve on CPU (restored afterwards); None leaves
        torch's setting.  One thread is the default, as
        in :class:`mlopt.ipm.IPMSettings`: on 2 cores it is within ~10-40% of two threads when the
        machine is idle and 10x faster when another process holds a core (OpenMP oversubscription).

    Returns
    -------
    :class:`BatchedPathResult` (coefs (B, d), intercepts (B,), statuses, iterations, objectives, gaps, time).
    """
    t0 = time.perf_counter()
    dev = _check_device(device)
    a = _check_alphas(alphas)
    check_solve_options(tol, max_iter, chunk_size, cpu_threads)
    if positive is not None and not isinstance(positive, (bool, np.bool_)):
        raise TypeError(f"positive must be None or a bool, got {positive!r}")

    if isinstance(objective_or_gram, Objective):
        obj = objective_or_gram
        if not batched_applicable(obj):
            raise ValueError("objective_or_gram: the batched path covers squared-loss objectives with one output, "
                             "penalty none/l2/l1/elasticnet, no bounds and at most "
                             f"{GRAM_MAX_FEATURES} features; got loss {obj.loss.name!r}, penalty "
                             f"{obj.penalty.name!r}, bounds {obj.bounds!r}, {obj.n_features} features")
        ratios = _check_ratios(obj.l1_ratio if l1_ratio is None else l1_ratio, a.size)
        c1, c2 = _penalty_split(obj.penalty.name, ratios)
        pos = bool(obj.positive if positive is None else positive)
        data = gram_data(obj, dev)
    elif isinstance(objective_or_gram, (GramProblem, GramData)):
        ratios = _check_ratios(1.0 if l1_ratio is None else l1_ratio, a.size)
        c1, c2 = _penalty_split("elasticnet", ratios)
        pos = bool(positive) if positive is not None else False
        if isinstance(objective_or_gram, GramProblem):
            data = _gram_from_problem(objective_or_gram, dev)
        else:
            data = objective_or_gram
            data = GramData(G=data.G.to(device=dev, dtype=torch.float64), g=data.g.to(device=dev, dtype=torch.float64),
                            constant=float(data.constant), n_features=int(data.n_features),
                            fit_intercept=bool(data.fit_intercept))
            if data.G.shape != (data.n_params, data.n_params) or data.g.shape != (data.n_params,):
                raise ValueError(f"objective_or_gram: GramData needs G of shape ({data.n_params}, {data.n_params}) "
                                 f"and g of shape ({data.n_params},), got {tuple(data.G.shape)}, {tuple(data.g.shape)}")
    else:
        raise TypeError("objective_or_gram must be a mlopt Objective, a GramProblem or GramData, got "
                        f"{type(objective_or_gram).__name__}")
    sync(dev)
    setup = time.perf_counter() - t0

    t1 = time.perf_counter()
    lam1, lam2 = a * c1, a * c2
    p = data.n_params
    chunk = int(chunk_size) if chunk_size is not None else max(1, _CHUNK_BYTES // (24 * p * p))
    out = Outputs(a.size, p)
    with torch_compute(int(cpu_threads) if cpu_threads is not None and dev.type == "cpu" else None):
        scaled = scale(data)
        for start in range(0, a.size, chunk):
            sl = slice(start, min(start + chunk, a.size))
            _solve_chunk(scaled, data, lam1[sl], lam2[sl], pos, tol, int(max_iter), out, sl)
        sync(dev)
    solve_time = time.perf_counter() - t1

    theta = out.theta * scaled.delta.cpu().numpy()[None, :]
    d = data.n_features
    coefs = theta[:, :d].copy()
    intercepts = theta[:, d].copy() if data.fit_intercept else np.zeros(a.size)
    bad = out.status >= MAXIT
    coefs[bad] = np.nan
    intercepts[bad] = np.nan
    pobj = out.pobj + data.constant
    return BatchedPathResult(
        alphas=a, l1_ratios=ratios, coefs=coefs, intercepts=intercepts,
        statuses=[STATUS_NAMES[int(k)] for k in out.status], iterations=out.iters.copy(),
        methods=[METHOD_NAMES[int(k)] for k in out.method],
        primal_objectives=pobj, dual_objectives=out.dobj + data.constant, gaps=out.gap,
        relative_gaps=out.gap / np.maximum(1.0, np.abs(pobj)), primal_residuals=out.resp, dual_residuals=out.resd,
        time=time.perf_counter() - t0, setup_time=setup, solve_time=solve_time, device=str(dev))


def model_objectives(objective: Objective, alphas, l1_ratios, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """f_b(w_b, β_b) = loss_weight·Σᵢ sᵢ·½(yᵢ − xᵢᵀw_b − β_b)² + α_b·R_ρb(w_b) for all members at once
    (one (n × d)·(d × B) product; the same value as ``objective.value`` per member).  NaN rows stay NaN."""
    W = np.asarray(coefs, dtype=np.float64)
    b = np.asarray(intercepts, dtype=np.float64) if objective.fit_intercept else np.zeros(W.shape[0])
    X, y = objective.X, np.asarray(objective.y, dtype=np.float64)
    R = y[:, None] - np.asarray(X @ W.T) - b[None, :]
    sq = R * R if objective.sample_weight is None else np.asarray(objective.sample_weight, float)[:, None] * R * R
    loss = objective.loss_weight * 0.5 * sq.sum(axis=0)
    ratios = np.broadcast_to(np.asarray(l1_ratios, dtype=np.float64), (W.shape[0],))
    c1, c2 = _penalty_split(objective.penalty.name, np.array(ratios, dtype=np.float64))
    pen = np.asarray(alphas, dtype=np.float64) * (c1 * np.abs(W).sum(axis=1) + 0.5 * c2 * (W * W).sum(axis=1))
    return loss + pen
