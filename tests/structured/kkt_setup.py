"""Shared fixture code of the KKT-backend tests: a random interior cone scaling and its KKTProblem."""
import scipy.sparse as sp
import torch

from mlopt.ipm.cones import CompositeCone
from mlopt.ipm.kkt import KKTProblem
from mlopt.ipm.problem import SparseOperator


def interior_kkt_setup(P, A, cones, device="cpu", seed=0):
    """(KKTProblem of (P, A) on ``device``, the scaling blocks of a random interior point of
    ``cones``, the torch generator used)."""
    dev = torch.device(device)
    cc = CompositeCone(cones, dev)
    gen = torch.Generator().manual_seed(seed)
    s_full = torch.empty(A.shape[0], dtype=torch.float64, device=dev)
    z_full = torch.empty_like(s_full)
    for g in cc.groups:
        sg, zg = g.unit_initialization()
        scale = (1 + 3 * torch.rand(sg.shape[0], dtype=torch.float64, generator=gen)).to(dev)
        s_full[g.idx] = sg * (scale if sg.dim() == 1 else scale[:, None])
        z_full[g.idx] = zg
    assert cc.update_scaling(s_full, z_full, 1.0, False)
    P, A = sp.csc_matrix(P), sp.csc_matrix(A)
    kp = KKTProblem(P, A, SparseOperator(P, dev), SparseOperator(A, dev), SparseOperator(A.T, dev), dev)
    return kp, cc.scaling_blocks(), gen
