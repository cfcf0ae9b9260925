"""Shared fixture code of the KKT-backend tests: a random interior cone scaling and its KKTProblem."""
import torch

from mlopt.ipm.cones import CompositeCone
from mlopt.ipm.kkt import kkt_problem


def interior_kkt_setup(P, A, cones, device="cpu", seed=0):
    """(KKTProblem of (P, A) on ``device`` (A scipy or a BlockMatrix), the scaling blocks of a random interior point of
    ``cones``, the torch generator used)."""
    dev = torch.device(device)
    cc = CompositeCone(cones, dev)
    gen = torch.Generator().manual_seed(seed)
    s_full = torch.empty(A.shape[0], dtype=torch.float64, device=dev)
    z_full = torch.empty_like(s_full)
    for g in cc.groups:
        sg, zg = g.unit_initialization()
        # one positive factor per cone: elementwise cones (n,), SOC groups (k, d), exp groups (3, k)
        k = sg.shape[1] if g.kind == "exp" else sg.shape[0]
        scale = (1 + 3 * torch.rand(k, dtype=torch.float64, generator=gen)).to(dev)
        s_full[g.idx] = sg * (scale if sg.dim() == 1 else scale[None, :] if g.kind == "exp" else scale[:, None])
        z_full[g.idx] = zg
    assert cc.update_scaling(s_full, z_full, 1.0, False)
    return kkt_problem(P, A, dev), cc.scaling_blocks(), gen
