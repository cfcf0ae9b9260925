"""Bad input raises ValueError / TypeError naming the argument, before iterating."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopt.ipm import IPM, ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone, solve

q, A, b = np.ones(2), -np.eye(2), np.zeros(2)
K = [NonnegativeCone(2)]


@pytest.mark.parametrize("args, exc, word", [
    ((None, np.ones(3), A, b, K), ValueError, "q"),
    ((None, q, A, np.zeros(3), K), ValueError, "b"),
    ((np.eye(3), q, A, b, K), ValueError, "P"),
    ((np.array([[1.0, 2.0], [0.5, 1.0]]), q, A, b, K), ValueError, "symmetric"),
    ((None, q, A, b, [NonnegativeCone(3)]), ValueError, "cones"),
    ((None, q, A, b, ["nonneg"]), TypeError, "cone"),
    ((None, q, A, b, NonnegativeCone(2)), TypeError, "cones"),
    ((None, np.array([1.0, np.nan]), A, b, K), ValueError, "q"),
    ((None, q, np.array([[np.inf, 0], [0, -1.0]]), b, K), ValueError, "A"),
    ((None, q, A, np.array([0.0, np.inf]), K), ValueError, "b"),
    ((np.full((2, 2), np.nan), q, A, b, K), ValueError, "P"),
    ((None, q, "A", b, K), TypeError, "A"),
    ((None, q, np.ones(2), b, K), ValueError, "A"),
])
def test_bad_data(args, exc, word):
    with pytest.raises(exc, match=word):
        solve(*args)


@pytest.mark.parametrize("make", [lambda: SecondOrderCone(0), lambda: ZeroCone(-1),
                                  lambda: ExponentialCone(0), lambda: NonnegativeCone(0)])
def test_bad_cone_sizes(make):
    with pytest.raises(ValueError, match="must be >= 1"):
        make()


def test_bad_cone_type():
    with pytest.raises(TypeError, match="integer"):
        SecondOrderCone(2.5)


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(kkt_solver="cholmod"), ValueError, "kkt_solver"),
    (dict(max_iter=0), ValueError, "max_iter"),
    (dict(tol_feas=-1.0), ValueError, "tol_feas"),
    (dict(device="tpu"), ValueError, "device"),
    (dict(verbose="yes"), TypeError, "verbose"),
    (dict(not_a_setting=1), TypeError, "unknown IPM setting"),
    (dict(max_step_fraction=1.5), ValueError, "max_step_fraction"),
    (dict(linesearch_bisections=-1), ValueError, "linesearch_bisections"),
    (dict(linesearch_bisections=2.5), ValueError, "linesearch_bisections"),
    (dict(linesearch_boundary_fraction=0.0), ValueError, "linesearch_boundary_fraction"),
    (dict(centrality_correctors=-1), ValueError, "centrality_correctors"),
    (dict(centrality_correctors=1.5), ValueError, "centrality_correctors"),
])
def test_bad_settings(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        solve(None, q, A, b, K, **kwargs)
    with pytest.raises(exc, match=word):
        IPM(**kwargs)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 6), extra=st.integers(-3, 3).filter(lambda e: e != 0))
def test_cone_dimension_mismatch_property(m, n, extra):
    A_ = np.ones((m, n))
    with pytest.raises(ValueError, match="A has"):
        solve(None, np.ones(n), A_, np.ones(m), [NonnegativeCone(m + extra)] if m + extra > 0
              else [NonnegativeCone(m), ZeroCone(1)])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       pos=st.integers(0, 4))
def test_nonfinite_q_property(n, bad, pos):
    qq = np.ones(n)
    qq[pos % n] = bad
    with pytest.raises(ValueError, match="q contains NaN or inf"):
        solve(None, qq, -np.eye(n), np.zeros(n), [NonnegativeCone(n)])
