"""Tests of make_ratings, the planted low-rank generator."""

import numpy as np
import pandas as pd
import pytest

from sklearn_mf.datasets import _synthetic, make_ratings


def _planted(X, truth):
    u, i = X[:, 0], X[:, 1]
    interaction = np.einsum("ij,ij->i", truth.user_factors[u], truth.item_factors[i])
    return truth.global_mean + truth.user_bias[u] + truth.item_bias[i] + interaction


def _assert_distinct(X, n_items):
    cells = X[:, 0] * n_items + X[:, 1]
    assert np.unique(cells).size == cells.size


def test_shapes_and_dtypes():
    X, y, truth = make_ratings(50, 40, 600, n_components=3, random_state=0)
    assert X.shape == (600, 2) and X.dtype == np.int64
    assert y.shape == (600,) and y.dtype == np.float64
    assert truth.user_bias.shape == (50,) and truth.item_bias.shape == (40,)
    assert truth.user_factors.shape == (50, 3) and truth.item_factors.shape == (40, 3)
    assert truth.global_mean == 3.5 and truth.noise == 0.5


@pytest.mark.parametrize(
    "n_users, n_items, n_ratings",
    [
        (500, 300, 20_000),  # sparse
        (300, 500, 500),  # just enough to cover every item
        (40, 30, 1_000),  # dense: drawn through the complement
        (40, 30, 1_200),  # every cell
        (1, 7, 7),
        (7, 1, 7),
        (1, 1, 1),
    ],
)
def test_distinct_pairs_cover_every_id(n_users, n_items, n_ratings):
    X, _, _ = make_ratings(n_users, n_items, n_ratings, random_state=0)
    _assert_distinct(X, n_items)
    assert np.array_equal(np.unique(X[:, 0]), np.arange(n_users))
    assert np.array_equal(np.unique(X[:, 1]), np.arange(n_items))


def test_fewer_ratings_than_ids():
    X, _, _ = make_ratings(1000, 20, 100, random_state=0)
    _assert_distinct(X, 20)
    assert X[:, 0].min() >= 0 and X[:, 0].max() < 1000
    assert X[:, 1].min() >= 0 and X[:, 1].max() < 20


def test_rows_are_in_random_order():
    X, _, _ = make_ratings(200, 100, 5_000, random_state=0)
    assert not np.all(np.diff(X[:, 0]) >= 0)


@pytest.mark.parametrize("n", [3, 15])  # the sparse and the dense route
def test_distinct_cells_are_uniform(n):
    rng = np.random.default_rng(0)
    n_cells, reps = 20, 4000
    counts = np.zeros(n_cells)
    for _ in range(reps):
        cells = _synthetic._distinct_cells(n_cells, n, rng)
        assert cells.size == n and np.all(np.diff(cells) > 0)
        counts[cells] += 1
    expected = reps * n / n_cells
    # Each count is binomial; 5 standard deviations never fail by chance in practice.
    std = np.sqrt(reps * (n / n_cells) * (1 - n / n_cells))
    assert np.abs(counts - expected).max() < 5 * std


def test_reproducible():
    a = make_ratings(100, 80, 2_000, random_state=7)
    b = make_ratings(100, 80, 2_000, random_state=np.random.RandomState(7))
    c = make_ratings(100, 80, 2_000, random_state=8)
    for x, z in zip(a[:2], b[:2], strict=True):
        np.testing.assert_array_equal(x, z)
    for key in a[2]:
        np.testing.assert_array_equal(a[2][key], b[2][key])
    assert not np.array_equal(a[1], c[1])


def test_truth_reproduces_y_within_noise():
    X, y, truth = make_ratings(300, 200, 30_000, noise=0.3, random_state=0)
    residual = y - _planted(X, truth)
    # sample std of 30,000 N(0, 0.3^2) draws: 0.3 +- 0.0012
    assert residual.std() == pytest.approx(0.3, abs=0.01)
    assert abs(residual.mean()) < 0.01
    # the low-rank term carries real signal, not just noise
    assert np.std(_planted(X, truth) - truth.global_mean) > 0.5


def test_noise_free():
    X, y, truth = make_ratings(30, 20, 300, noise=0.0, random_state=0)
    np.testing.assert_allclose(y, _planted(X, truth))


def test_scales():
    _, _, truth = make_ratings(
        4000, 3000, 4000, bias_std=0.2, factor_std=2.0, n_components=4, random_state=0
    )
    assert truth.user_bias.std() == pytest.approx(0.2, rel=0.05)
    assert truth.user_factors.std() == pytest.approx(2.0, rel=0.05)


def test_biases_only():
    X, y, truth = make_ratings(20, 10, 100, n_components=0, noise=0.0, random_state=0)
    assert truth.user_factors.shape == (20, 0)
    expected = truth.global_mean + truth.user_bias[X[:, 0]] + truth.item_bias[X[:, 1]]
    np.testing.assert_allclose(y, expected)


def test_rating_range_clips():
    _, y, _ = make_ratings(
        100, 80, 3_000, noise=1.0, rating_range=(1, 5), random_state=0
    )
    assert y.min() == 1.0 and y.max() == 5.0


def test_as_frame():
    X, y, truth = make_ratings(30, 20, 300, as_frame=True, random_state=0)
    X_arr, y_arr, _ = make_ratings(30, 20, 300, random_state=0)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == ["user", "item"]
    assert X.dtypes.tolist() == [np.int64, np.int64]
    assert isinstance(y, pd.Series) and y.name == "rating" and y.dtype == np.float64
    np.testing.assert_array_equal(X.to_numpy(), X_arr)
    np.testing.assert_array_equal(y.to_numpy(), y_arr)
    assert isinstance(truth.user_bias, np.ndarray)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_users=0), ValueError, "n_users must be >= 1"),
        (dict(n_items=-3), ValueError, "n_items must be >= 1"),
        (dict(n_ratings=0), ValueError, "n_ratings must be >= 1"),
        (dict(n_users=2.0), TypeError, "n_users must be an int"),
        (dict(n_items=True), TypeError, "n_items must be an int"),
        (
            dict(n_users=10, n_items=10, n_ratings=101),
            ValueError,
            "n_ratings must be <=",
        ),
        (dict(n_components=-1), ValueError, "n_components must be >= 0"),
        (dict(n_components=2.5), TypeError, "n_components must be an int"),
        (dict(noise=-0.1), ValueError, "noise must be finite and >= 0"),
        (dict(noise=np.nan), ValueError, "noise must be finite"),
        (dict(noise="0.5"), TypeError, "noise must be a real number"),
        (dict(global_mean=np.inf), ValueError, "global_mean must be finite"),
        (dict(bias_std=-1), ValueError, "bias_std must be finite and >= 0"),
        (dict(factor_std=-1), ValueError, "factor_std must be finite and >= 0"),
        (dict(rating_range=(5, 1)), ValueError, "rating_range must have low < high"),
        (dict(rating_range=(1, 1)), ValueError, "rating_range must have low < high"),
        (dict(rating_range=(1, 3, 5)), TypeError, "rating_range must be None or"),
        (dict(rating_range=5), TypeError, "rating_range must be None or"),
        (dict(rating_range=(1, "5")), TypeError, r"rating_range\[1\] must be a real"),
        (dict(as_frame="yes"), TypeError, "as_frame must be a bool"),
        (dict(random_state="seed"), ValueError, "cannot be used to seed"),
    ],
)
def test_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_ratings(**kwargs)


def test_numpy_scalars_are_accepted():
    X, y, _ = make_ratings(
        np.int32(20), np.int64(10), np.int64(50), noise=np.float32(0.1), random_state=0
    )
    assert X.shape == (50, 2)
