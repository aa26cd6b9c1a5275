"""Sparse sign test matrices (``_kernels._sparse_sign``)."""

import numpy as np
import pytest

from sklearn_mf._kernels._sparse_sign import add_sparse_sign_product, draw_sparse_signs


def _draw(row_seeds, n_columns, nonzeros, seed=3):
    positions = np.empty((row_seeds.shape[0], nonzeros), dtype=np.int32)
    signs = np.empty((row_seeds.shape[0], nonzeros))
    draw_sparse_signs(row_seeds, np.uint64(seed), n_columns, positions, signs)
    return positions, signs


def test_rows_have_distinct_columns_random_signs_and_depend_on_their_seed_only():
    seeds = np.arange(200, dtype=np.uint64) * np.uint64(7919)
    positions, signs = _draw(seeds, 10, 8)
    assert all(len(set(row)) == 8 for row in positions)
    assert positions.min() >= 0 and positions.max() < 10
    assert set(np.unique(signs)) == {-1.0, 1.0}
    assert 0.4 < (signs > 0).mean() < 0.6
    # A row's draws follow its seed, whatever the other rows.
    again = _draw(seeds[::-1].copy(), 10, 8)
    np.testing.assert_array_equal(again[0][::-1], positions)
    np.testing.assert_array_equal(again[1][::-1], signs)
    # Every column is used (uniform picks).
    assert np.bincount(positions.ravel(), minlength=10).min() > 0


def test_product_matches_the_dense_matrix():
    rng = np.random.RandomState(0)
    seeds = np.arange(30, dtype=np.uint64)
    positions, signs = _draw(seeds, 12, 4)
    dense = np.zeros((30, 12))
    for r in range(30):
        dense[r, positions[r]] = signs[r]
    x = rng.randn(30, 5)
    out = np.ones((12, 5))
    add_sparse_sign_product(positions, signs, x, out)
    np.testing.assert_allclose(out, 1.0 + dense.T @ x, atol=1e-12)


def test_more_nonzeros_than_columns_is_refused():
    with pytest.raises(ValueError, match="nonzeros"):
        _draw(np.arange(3, dtype=np.uint64), 4, 5)
