"""SGD with an implicit-feedback term (SVD++ as Surprise fits it)."""

import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf._kernels._sgd_implicit import implicit_row_visit
from sklearn_mf._kernels._types import Penalty, Ratings, Side
from sklearn_mf._solvers._sgd_implicit import _pair_weights
from sklearn_mf.datasets import make_ratings


def test_pair_weights_sum_repeated_pairs_within_a_row():
    indptr = np.array([0, 3, 5])
    other = np.array([1, 1, 4, 4, 7])  # row 0 rates column 1 twice
    weight = np.array([0.5, 2.0, 1.0, 3.0, 1.5])
    pair_weight, row_of = _pair_weights(indptr, other, weight)
    np.testing.assert_allclose(pair_weight, [2.5, 2.5, 1.0, 3.0, 1.5])
    np.testing.assert_array_equal(row_of, [0, 0, 0, 1, 1])


def _naive_svdpp_steps(order, items, target, weight, features, state, params):
    """Koren's SGD on one user's ratings, updating every y_j at every rating."""
    lr, alpha, alpha_bias, alpha_implicit = params
    bu, bi, p, q, y, coef = state
    scale = 1 / np.sqrt(weight.sum())
    counts = np.bincount(items, weights=weight, minlength=len(bi))  # c_j
    squared_error = 0.0
    for r in order:
        i, step = items[r], lr * weight[r]
        z = scale * counts @ y
        err = target[r] - (bu[0] + bi[i] + (p[0] + z) @ q[i] + features[r] @ coef)
        squared_error += weight[r] * err**2
        bu[0] += step * (err - alpha_bias * bu[0])
        bi[i] += step * (err - alpha_bias * bi[i])
        y_decay = np.zeros_like(y)
        y_decay[i] = step * alpha_implicit * y[i]
        y += step * err * scale * counts[:, None] * q[i] - y_decay
        p[0], q[i] = (
            p[0] + step * (err * q[i] - alpha * p[0]),
            q[i] + step * (err * (p[0] + z) - alpha * q[i]),
        )
        coef += step * (err * features[r] - alpha_bias * coef)
    return squared_error


def test_row_visit_matches_naive_svdpp_steps():
    rng = np.random.RandomState(0)
    n, n_items, k = 12, 6, 3
    items = np.sort(rng.randint(0, n_items, n)).astype(np.int32)  # with repeats
    target, weight = rng.randn(n), rng.uniform(0.2, 2.0, n)
    features = rng.randn(n, 2)
    order = rng.permutation(n).astype(np.int64)
    state = [
        rng.randn(1),
        rng.randn(n_items),
        rng.randn(1, k),
        rng.randn(n_items, k),
        rng.randn(n_items, k),
        rng.randn(2),
    ]
    params = (0.05, 0.1, 0.02, 0.3)
    expected = [a.copy() for a in state]
    expected_error = _naive_svdpp_steps(
        order, items, target, weight, features, expected, params
    )
    pair_weight, _ = _pair_weights(np.array([0, n]), items, weight)
    scale = 1 / np.sqrt(weight.sum())
    spread = np.array([scale**2 * weight @ pair_weight])
    state32 = [a.astype(np.float32) for a in state]
    bu, bi, p, q, y, coef = state32
    learning_rate, alpha, alpha_bias, alpha_implicit = params
    got_error = implicit_row_visit(
        0,
        order,
        Ratings(
            np.array([0, n]),
            items,
            target.astype(np.float32),
            weight.astype(np.float32),
        ),
        pair_weight.astype(np.float32),
        features.astype(np.float32),
        np.array([scale]),
        spread,
        learning_rate,
        Penalty(alpha, alpha_bias, True),
        alpha_implicit,
        Side(bu, p),
        Side(bi, q),
        y,
        coef,
        np.empty(k, dtype=np.float32),
        np.empty(k, dtype=np.float32),
    )
    assert got_error == pytest.approx(expected_error, rel=1e-5)
    for got, want in zip(state32, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def planted():
    return make_ratings(
        n_users=200, n_items=120, n_ratings=8_000, n_components=3, random_state=0
    )


@pytest.mark.parametrize("sides", [True, "items"])
def test_results_do_not_depend_on_n_jobs(planted, sides):
    X, y, _ = planted
    params = dict(solver="sgd", implicit_feedback=sides, max_iter=5, random_state=3)
    one = MatrixFactorization(n_jobs=1, **params).fit(X, y)
    two = MatrixFactorization(n_jobs=2, **params).fit(X, y)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
    assert one.loss_curve_ == two.loss_curve_


def test_sgd_takes_one_implicit_term_only(planted):
    X, y, _ = planted
    with pytest.raises(ValueError, match="solver='sgd' takes one implicit term"):
        MatrixFactorization(solver="sgd", implicit_feedback="both").fit(X, y)


def test_implicit_feedback_lowers_the_ml100k_error_at_surprise_settings(ml100k):
    """Surprise SVDpp's settings: 20 factors, 20 epochs, lr 0.007, reg 0.02."""
    X, y = ml100k
    train = np.random.RandomState(0).rand(len(y)) < 0.8
    params = dict(
        solver="sgd",
        n_components=20,
        max_iter=20,
        tol=None,
        learning_rate=0.007,
        alpha=0.02,
        alpha_bias=0.02,
        random_state=0,
    )
    rmse = {}
    for implicit in (False, True, "items"):
        model = MatrixFactorization(implicit_feedback=implicit, **params)
        model.fit(X[train], y[train])
        rmse[implicit] = np.sqrt(np.mean((model.predict(X[~train]) - y[~train]) ** 2))
    assert rmse[True] < rmse[False] - 0.005
    assert rmse["items"] < rmse[False] - 0.005
