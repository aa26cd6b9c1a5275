"""The SGD kernel with an implicit-feedback term (``_kernels._sgd_implicit``)."""

import numpy as np
import pytest

from sklearn_mf._kernels._sgd_implicit import implicit_row_visit
from sklearn_mf._kernels._types import Penalty, Ratings, Side
from sklearn_mf._solvers._sgd_implicit import _pair_weights


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
