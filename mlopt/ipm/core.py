"""The primal–dual interior-point loop on the homogeneous self-dual embedding.

Homogeneous embedding with quadratic objective (Clarabel): find (x, z, s, τ, κ) with

    Px + Aᵀz + qτ = 0,   Ax + s − bτ = 0,   qᵀx + bᵀz + κ + xᵀPx/τ = 0,
    (s, z) ∈ K × K*,  τ, κ ≥ 0.

τ > 0 at the end gives the solution (x, s, z)/τ; κ > 0 gives a certificate of primal
(bᵀz < 0) or dual (qᵀx < 0) infeasibility.  Each iteration takes a Mehrotra
predictor–corrector step computed from two solves with the same KKT factorisation
(see :func:`newton_step`), on LP/QP cones followed by up to two Gondzio centrality correctors
where a factorization is dear (see :meth:`IPMCore.correct_centrality`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .cones import CompositeCone
from .cones.base import LineSearch
from .info import Info, Residuals, check_convergence, insufficient_progress, measure
from .kkt import Regularization, make_kkt_solver
from .kkt import kkt_problem as make_kkt_problem
from .kkt.base import spmv
from .problem import ProblemData
from .status import Status

#: Gondzio correctors: target step increase δ, the box [β_min σμ, β_max σμ] for the products, and the
#: fraction γ of δ by which the step must grow for a corrected direction to be kept
GONDZIO_DELTA, GONDZIO_BETA_MIN, GONDZIO_BETA_MAX, GONDZIO_GAMMA = 0.3, 0.1, 10.0, 0.1
#: correctors run only on these device types (see below), and where the KKT backend estimates a
#: factorization to cost at least CORRECTOR_MIN_FACTOR_COST solves
CORRECTOR_DEVICES = ("cpu",)
#: the gate on the estimated factorization cost, in solves.  LinearSVC, structured backend (estimate
#: ≈ |G_c|/4), 2 CPU cores, with vs without: 1000×50 (11): 11 iterations instead of 14 but 12% slower;
#: 5000×200 (48): 12 instead of 17, 0–13% faster; 10000×300 (73), 10000×400 (98): 14 instead of 18–19,
#: 6% faster; 20000×500 (123): 15 instead of 20, 13–18% faster; 100000×100 (25): 15 instead of 19, 3%
#: slower.  On CUDA (solves bound by kernel launches, not flops) not measured: off there
#: (benchmarks/device/correctors.py measures both ways)
CORRECTOR_MIN_FACTOR_COST = 45.0


@dataclass
class Iterate:
    x: torch.Tensor
    s: torch.Tensor
    z: torch.Tensor
    tau: float
    kappa: float

    def copy(self) -> "Iterate":
        return Iterate(self.x.clone(), self.s.clone(), self.z.clone(), self.tau, self.kappa)

    def add(self, step: "Iterate", alpha: float) -> None:
        self.x = self.x + alpha * step.x
        self.s = self.s + alpha * step.s
        self.z = self.z + alpha * step.z
        self.tau += alpha * step.tau
        self.kappa += alpha * step.kappa


class IPMCore:
    """State and main loop of the solver on (equilibrated) data."""

    def __init__(self, data: ProblemData, eq, settings, t_start: float, start=None) -> None:
        self.st = settings
        self.t_start = t_start
        dev = torch.device(settings.device)
        self.dev = dev
        f64 = dict(dtype=torch.float64, device=dev)
        kkt_problem = make_kkt_problem(data.P, data.A, dev)
        self.P = kkt_problem.P
        self.q, self.b = torch.as_tensor(data.q, **f64), torch.as_tensor(data.b, **f64)
        self.P_is_zero = data.P.nnz == 0 or not np.any(data.P.data)
        self.eq = (torch.as_tensor(eq.d, **f64), torch.as_tensor(eq.e, **f64), eq.c)
        self.normb = float(np.abs(data.b / eq.e).max()) if data.m else 0.0
        self.normq = float(np.abs(data.q / (eq.d * eq.c)).max()) if data.n else 0.0
        self.cones = CompositeCone(data.cones, dev)  # every cone group starts at the identity scaling
        diagP = np.abs(data.P.diagonal()).max() if data.n else 0.0
        self.reg = Regularization(
            static=settings.static_regularization_constant
            + settings.static_regularization_proportional * diagP,
            dynamic_enable=settings.dynamic_regularization_enable,
            dynamic_delta=settings.dynamic_regularization_delta,
        )
        self.kkt = make_kkt_solver(settings.kkt_solver, kkt_problem,
                                   self.cones.scaling_blocks(), settings)
        self.nu = self.cones.degree + 1
        #: Gondzio correctors: LP/QP cones only, and only where a factorization costs many solves
        self.use_correctors = bool(settings.centrality_correctors and self.cones.correctable
                                   and dev.type in CORRECTOR_DEVICES
                                   and self.kkt.factor_cost_in_solves >= CORRECTOR_MIN_FACTOR_COST)
        self.line_search = LineSearch(settings.linesearch_backtrack_step, settings.linesearch_bisections,
                                      settings.linesearch_boundary_fraction)
        #: seconds spent in the KKT factorizations, the KKT solves (with refinement) and the cone scalings
        self.timers = {"kkt_update": 0.0, "kkt_solve": 0.0, "cones": 0.0}
        self.history: list = []
        self.start = start  #: a given StartPoint of the unscaled problem (mlopt.ipm.start), or None
        #: which start the run took: "default", "given", or "rejected" (given but not interior)
        self.start_used = "default" if start is None else "given"

    # ------------------------------------------------------------------ helpers
    def residuals(self, v: Iterate) -> Residuals:
        Px = spmv(self.P, v.x)
        Atz, Ax = self.kkt.apply_A(v.x, v.z)
        Axs = Ax + v.s
        qx, bz = dot(self.q, v.x), dot(self.b, v.z)
        xPx = dot(v.x, Px)
        return Residuals(
            rx=Px + Atz + v.tau * self.q, rz=Axs - v.tau * self.b,
            rtau=qx + bz + v.kappa + xPx / v.tau, Px=Px, Atz=Atz, Axs=Axs,
            qx=qx, bz=bz, sz=dot(v.s, v.z), xPx=xPx)

    def kkt_solve(self, rx, rz):
        t0 = time.perf_counter()
        out = self.kkt.solve(rx, rz)
        self.timers["kkt_solve"] += time.perf_counter() - t0
        return out

    def given_point(self) -> Optional[Iterate]:
        """The given start in the equilibrated variables (x/d, e·s, c·z/e, τ, c·κ), or None when it
        is not interior (the cones' scaling update is the test)."""
        d, e, c = self.eq
        p = self.start
        v = Iterate(p.x / d, p.s * e, p.z * (c / e), p.tau, c * p.kappa)
        finite = all(bool(torch.isfinite(t).all()) for t in (v.x, v.s, v.z))
        if finite and self.cones.update_scaling(v.s, v.z, 1.0, False):
            return v
        self.cones.set_identity_scaling()
        self.start_used = "rejected"
        return None

    def initial_point(self) -> Iterate:
        if self.start is not None:
            v = self.given_point()
            if v is not None:
                return v
        n, m = self.q.shape[0], self.b.shape[0]
        f64 = dict(dtype=torch.float64, device=self.dev)
        if not self.cones.symmetric:  # unit initialisation (exp cones present)
            s, z = self.cones.unit_initialization()
            return Iterate(torch.zeros(n, **f64), s, z, 1.0, 1.0)
        # symmetric cones: solve [P Aᵀ; A −I] with identity scaling (Clarabel's start)
        t0 = time.perf_counter()
        ok = self.kkt.update(self.cones.scaling_blocks(), self.reg)
        self.timers["kkt_update"] += time.perf_counter() - t0
        if not ok:
            raise FloatingPointError("initial KKT factorisation failed")
        if self.P_is_zero:
            x, v = self.kkt_solve(torch.zeros(n, **f64), self.b)
            s = -v
            _, z = self.kkt_solve(-self.q, torch.zeros(m, **f64))
        else:
            x, v = self.kkt_solve(-self.q, self.b)
            s, z = -v, v.clone()
        s = self.cones.shift_to_interior(s, primal=True)
        z = self.cones.shift_to_interior(z, primal=False)
        return Iterate(x, s, z, 1.0, 1.0)

    def newton_step(self, v: Iterate, x1, z1, d_x, d_z, d_tau: float, d_s, d_kappa: float) -> Iterate:
        """Solve the linearised embedding for (Δx, Δz, Δτ, Δs, Δκ).

        With Δs = −ξ − HΔz (ξ from the cone's d_s) and Δκ = −(d_κ + κΔτ)/τ:
            K [Δx; Δz] = [−d_x − qΔτ;  −d_z + ξ + bΔτ],  K = [P Aᵀ; A −H],
        so (Δx, Δz) = (x₂, z₂) + Δτ (x₁, z₁) with K[x₁; z₁] = [−q; b] and
        K[x₂; z₂] = [−d_x; −d_z + ξ]; Δτ then follows from the τ-row.
        """
        xi = self.cones.ds_from_dz_offset(d_s)
        x2, z2 = self.kkt_solve(-d_x, -d_z + xi)
        xt = v.x / v.tau
        qP = self.q + 2 * spmv(self.P, xt)
        # τ-row coefficient, written directly (not through K[x₁;z₁] = [−q;b], which a
        # regularized solve of a singular K only satisfies approximately)
        denom = (v.kappa / v.tau - dot(qP, x1) - dot(self.b, z1)
                 + dot(xt, spmv(self.P, xt)))
        num = d_tau - d_kappa / v.tau + dot(qP, x2) + dot(self.b, z2)
        dtau = num / denom
        dx = x2 + dtau * x1
        dz = z2 + dtau * z1
        ds = -xi - self.cones.mul_H(dz)
        dkappa = -(d_kappa + v.kappa * dtau) / v.tau
        return Iterate(dx, ds, dz, dtau, dkappa)

    def step_length(self, v: Iterate, d: Iterate, combined: bool, dual_only: bool) -> float:
        a_tau = -v.tau / d.tau if d.tau < 0 else math.inf
        a_kappa = -v.kappa / d.kappa if d.kappa < 0 else math.inf
        alpha = min(a_tau, a_kappa, 1.0)
        az, as_ = self.cones.step_length(d.z, d.s, v.z, v.s, alpha, self.line_search,
                                         self.st.min_terminate_step_length)
        alpha = min(az, as_)
        if combined:
            alpha *= self.st.max_step_fraction
            if not self.cones.symmetric and dual_only:
                alpha = self.backtrack_to_barrier(v, d, alpha)
        return alpha

    def correct_centrality(self, v: Iterate, step: Iterate, alpha: float, x1, z1, target: float):
        """Gondzio's multiple centrality correctors (LP/QP cones): aim at the longer step
        α̃ = min(1, α + δ); at the trial point v + α̃·step, move the complementarity products
        sᵢzᵢ (and τκ) that left [β_min·σμ, β_max·σμ] back into it by one more solve with the same
        factorization (zero residual terms); keep the corrected direction while its step grows by at
        least γ·δ."""
        st = self.st
        lo, hi = GONDZIO_BETA_MIN * target, GONDZIO_BETA_MAX * target
        zero_x, zero_z = torch.zeros_like(step.x), torch.zeros_like(step.z)  # residual terms of every corrector
        for _ in range(st.centrality_correctors):
            a_bound = alpha / st.max_step_fraction
            if a_bound >= 1.0:
                break
            a_t = min(1.0, a_bound + GONDZIO_DELTA)
            s_t, z_t = v.s + a_t * step.s, v.z + a_t * step.z
            tk = (v.tau + a_t * step.tau) * (v.kappa + a_t * step.kappa)
            d_s = self.cones.centrality_ds(s_t, z_t, lo, hi)
            d_kappa = -max(min(max(tk, lo), hi) - tk, -hi)
            corr = self.newton_step(v, x1, z1, zero_x, zero_z, 0.0, d_s, d_kappa)
            if not _finite(corr):
                break
            trial = Iterate(step.x + corr.x, step.s + corr.s, step.z + corr.z,
                            step.tau + corr.tau, step.kappa + corr.kappa)
            a_new = self.step_length(v, trial, combined=True, dual_only=False)
            if a_new < alpha + GONDZIO_GAMMA * GONDZIO_DELTA * st.max_step_fraction:
                break
            step, alpha = trial, a_new
        return step, alpha

    def barrier(self, v: Iterate, d: Iterate, alpha: float) -> float:
        """Centrality measure: (ν+1)log μ(α) − log τ − log κ + Σ [f(s) + f*(z)]."""
        tau, kappa = v.tau + alpha * d.tau, v.kappa + alpha * d.kappa
        if tau <= 0 or kappa <= 0:
            return math.inf
        sz = dot(v.s + alpha * d.s, v.z + alpha * d.z)
        mu = (sz + tau * kappa) / self.nu
        if mu <= 0:
            return math.inf
        return (self.nu * math.log(mu) - math.log(tau) - math.log(kappa)
                + self.cones.barrier(v.z, v.s, d.z, d.s, alpha))

    def backtrack_to_barrier(self, v: Iterate, d: Iterate, alpha: float) -> float:
        """Neighbourhood check for exp cones: shrink α until the barrier measure is < 1."""
        for _ in range(50):
            if self.barrier(v, d, alpha) < 1.0:
                return alpha
            alpha *= self.st.linesearch_backtrack_step
        return alpha

    # ------------------------------------------------------------------ main loop
    def run(self):
        """Run the predictor–corrector loop; returns (status, iterate, info, iterations)."""
        st = self.st
        info = Info()
        v = self.initial_point()
        prev = v.copy()
        dual_only = False  # exp cones: primal–dual scaling first, dual scaling as fallback
        alpha, sigma, it = 0.0, 1.0, 0
        if st.verbose:
            print_header(self)
        while True:
            # ---- residuals ---------------------------------------------------------
            r = self.residuals(v)
            # ---- μ --------------------------------------------------------------------
            mu = (r.sz + v.tau * v.kappa) / self.nu
            # ---- convergence measures and termination -----------------------------------
            measure(info, r, v.x, v.s, v.z, v.tau, v.kappa, self.eq, self.normb, self.normq,
                    self.st.objective_constant)
            self.history.append(dict(iter=it, pobj=info.pobj, dobj=info.dobj, gap=info.gap_rel,
                                     pres=info.pres, dres=info.dres, step=alpha, mu=mu))
            if st.verbose:
                print_row(it, info, alpha, mu, sigma)
            status = check_convergence(info, st)
            if status == Status.UNSOLVED and insufficient_progress(info, st, it):
                # go back to the previous iterate; exp cones may retry with dual scaling
                v = prev.copy()
                info.pres, info.dres = info.prev["pres"], info.prev["dres"]
                if not self.cones.symmetric and not dual_only:
                    dual_only = True
                    continue
                status = Status.NUMERICAL_ERROR
            if status == Status.UNSOLVED:
                if it >= st.max_iter:
                    status = Status.MAX_ITERATIONS
                elif time.perf_counter() - self.t_start > st.time_limit:
                    status = Status.MAX_TIME
            if status != Status.UNSOLVED:
                break
            # ---- scale the cones ----------------------------------------------------------
            t0 = time.perf_counter()
            ok = self.cones.update_scaling(v.s, v.z, mu, dual_only)
            self.timers["cones"] += time.perf_counter() - t0
            if not ok:
                status = Status.NUMERICAL_ERROR
                break
            it += 1
            # ---- KKT update (factor) and the constant solve K[x₁; z₁] = [−q; b] --------------
            t0 = time.perf_counter()
            ok = self.kkt.update(self.cones.scaling_blocks(), self.reg)
            self.timers["kkt_update"] += time.perf_counter() - t0
            step = None
            if ok:
                x1, z1 = self.kkt_solve(-self.q, self.b)
                # ---- affine (predictor) step ---------------------------------------------------
                ds_aff = self.cones.affine_ds(v.s, v.z)
                step = self.newton_step(v, x1, z1, r.rx, r.rz, r.rtau, ds_aff, v.tau * v.kappa)
                ok = _finite(step)
            if ok:
                alpha = self.step_length(v, step, combined=False, dual_only=dual_only)
                # ---- centering parameter σ ---------------------------------------------------
                sigma = (1.0 - alpha) ** 3
                m_corr = 1.0 if it > 1 else alpha  # damped Mehrotra term at a poor start
                # ---- combined (corrector) step -------------------------------------------------
                shift = self.cones.combined_ds_shift(m_corr * step.z, step.s, sigma * mu)
                d_kappa = v.tau * v.kappa + m_corr * step.tau * step.kappa - sigma * mu
                step = self.newton_step(v, x1, z1, (1 - sigma) * r.rx, (1 - sigma) * r.rz,
                                        (1 - sigma) * r.rtau, ds_aff + shift, d_kappa)
                ok = _finite(step)
            if not ok:
                if not self.cones.symmetric and not dual_only:
                    dual_only, alpha = True, 0.0
                    continue
                status = Status.NUMERICAL_ERROR
                break
            # ---- step length -------------------------------------------------------------------
            alpha = self.step_length(v, step, combined=True, dual_only=dual_only)
            if self.use_correctors:
                step, alpha = self.correct_centrality(v, step, alpha, x1, z1, sigma * mu)
            if not self.cones.symmetric and not dual_only and alpha < st.min_switch_step_length:
                dual_only, alpha = True, 0.0
                continue
            if alpha <= st.min_terminate_step_length:
                status = Status.NUMERICAL_ERROR  # insufficient progress
                break
            # ---- update the iterate ------------------------------------------------------------
            info.prev = dict(pres=info.pres, dres=info.dres, gap_abs=info.gap_abs,
                             gap_rel=info.gap_rel)
            prev = v.copy()
            v.add(step, alpha)
        if status in (Status.MAX_ITERATIONS, Status.MAX_TIME, Status.NUMERICAL_ERROR):
            r = self.residuals(v)
            measure(info, r, v.x, v.s, v.z, v.tau, v.kappa, self.eq, self.normb, self.normq,
                    self.st.objective_constant)
            almost = check_convergence(info, st, reduced=True)
            if almost != Status.UNSOLVED:
                status = almost
        info.status = status
        if st.verbose:
            print(f"status: {status.value} after {it} iterations")
        return status, v, info, it


def dot(a: torch.Tensor, b: torch.Tensor) -> float:
    """aᵀb as a float ((a*b).sum(): torch's float64 CPU dot is very slow in some builds)."""
    return float((a * b).sum())


def _finite(step: Iterate) -> bool:
    """All entries of the step finite: a sum is finite iff every term is (an inf or NaN entry
    propagates; an overflowing sum of finite entries also fails, and such a step is no use either)."""
    total = step.x.sum() + step.z.sum() + step.s.sum()
    return math.isfinite(step.tau) and math.isfinite(step.kappa) and math.isfinite(float(total))


def print_header(core: IPMCore) -> None:
    n, m = core.q.shape[0], core.b.shape[0]
    groups = ", ".join(f"{g.kind}×{tuple(g.idx.shape)}" for g in core.cones.groups)
    print(f"mlopt.ipm: n = {n}, m = {m}, ν = {core.nu - 1}, cones: {groups}, "
          f"kkt = {core.kkt.name}, device = {core.dev}")
    print(f"{'iter':>4} {'pobj':>14} {'dobj':>14} {'gap':>9} {'pres':>9} {'dres':>9} "
          f"{'step':>7} {'mu':>9} {'sigma':>8}")


def print_row(it: int, info: Info, alpha: float, mu: float, sigma: float) -> None:
    print(f"{it:4d} {info.pobj:14.6e} {info.dobj:14.6e} {info.gap_rel:9.2e} {info.pres:9.2e} "
          f"{info.dres:9.2e} {alpha:7.4f} {mu:9.2e} {sigma:8.2e}")
