import numpy as np
import pytest

from mlopt.mlp.patterns import activation_patterns, count_patterns_bound, enumerate_patterns, sample_patterns


def _as_set(P):
    return {row.tobytes() for row in np.asarray(P, dtype=bool)}


@pytest.mark.parametrize("n, with_bias", [(12, False), (25, True), (40, True)])
def test_exact_count_matches_cover_bound_in_general_position(n, with_bias):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 2))
    if with_bias:
        X = np.column_stack([X, np.ones(n)])
    P, G = enumerate_patterns(X)
    rank = np.linalg.matrix_rank(X)
    # general position: Cover's count; the all-zero pattern (u = -e_bias) is dropped when it exists
    expected = count_patterns_bound(n, rank) - (1 if with_bias else 0)
    assert len(P) == expected
    assert len(_as_set(P)) == len(P)
    # each gate lies strictly inside its cell and generates its pattern
    assert np.all(np.abs(X @ G.T) > 1e-12)
    np.testing.assert_array_equal(activation_patterns(X, G), P)


def test_exact_contains_every_sampled_pattern_on_degenerate_real_data():
    from sklearn.datasets import load_iris

    X = load_iris().data[::3, :2]  # repeated values: many points share lines
    X = np.column_stack([X, np.ones(len(X))])
    P, _ = enumerate_patterns(X)
    S, _ = sample_patterns(X, 200_000, random_state=0)
    assert _as_set(S) <= _as_set(P)
    assert len(P) <= count_patterns_bound(len(X), 3)


def test_tiny_data_exact_equals_dense_sampling():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.standard_normal((6, 2)), np.ones(6)])
    P, _ = enumerate_patterns(X)
    S, _ = sample_patterns(X, 400_000, random_state=1)
    assert _as_set(S) == _as_set(P)


def test_rank_deficient_and_rank_one():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 2))
    X = np.column_stack([x, x[:, 0] + x[:, 1]])  # rank 2 in R^3
    P, G = enumerate_patterns(X)
    assert len(P) == 2 * 10
    np.testing.assert_array_equal(activation_patterns(X, G), P)
    P1, _ = enumerate_patterns(np.outer(rng.standard_normal(5), [1.0, 2.0]))
    assert len(P1) == 2


def test_rank_four_raises_and_sampling_validates():
    X = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(ValueError, match="rank"):
        enumerate_patterns(X)
    with pytest.raises(ValueError, match="n_samples"):
        sample_patterns(X, 0)
    P, G = sample_patterns(X, 500, random_state=0)
    np.testing.assert_array_equal(activation_patterns(X, G), P)
