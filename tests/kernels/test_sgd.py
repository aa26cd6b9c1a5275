"""The SGD kernels (``_kernels._sgd``): one visit against a Python reference, the
visiting order of a cell and of an epoch."""

import numpy as np
import pytest

from sklearn_mf._kernels._sgd import cell_visiting_order, sgd_visit
from sklearn_mf._kernels._types import Penalty, ShuffledRatings, Side
from sklearn_mf._ratings import RatingData
from sklearn_mf._solvers import FactorModel, SolverOptions
from sklearn_mf._solvers._sgd import SGDSolver


def test_sgd_visit_matches_python_reference():
    rng = np.random.RandomState(2)
    n, k = 40, 3
    users = rng.randint(0, 4, n).astype(np.int32)
    items = rng.randint(0, 5, n).astype(np.int32)
    target, weight = rng.randn(n), rng.uniform(0, 2, n)
    features = rng.randn(n, 2)
    order = rng.permutation(n).astype(np.int64)
    state = [np.zeros(4), np.zeros(5), rng.randn(4, k), rng.randn(5, k), rng.randn(2)]
    expected = [a.copy() for a in state]
    lr, alpha, alpha_bias = 0.05, 0.1, 0.02
    bu, bi, p, q, c = expected
    squared_error = 0.0
    for r in order:
        u, i, s = users[r], items[r], lr * weight[r]
        err = target[r] - (bu[u] + bi[i] + p[u] @ q[i] + features[r] @ c)
        squared_error += weight[r] * err**2
        bu[u] += s * (err - alpha_bias * bu[u])
        bi[i] += s * (err - alpha_bias * bi[i])
        p[u], q[i] = (
            p[u] + s * (err * q[i] - alpha * p[u]),
            q[i] + s * (err * p[u] - alpha * q[i]),
        )
        c += s * (err * features[r] - alpha_bias * c)
    # The kernel works in float32, as the SGD solver stores everything.
    state32 = [a.astype(np.float32) for a in state]
    ratings = ShuffledRatings(
        users,
        items,
        target.astype(np.float32),
        weight.astype(np.float32),
        features.astype(np.float32),
    )
    bu32, bi32, p32, q32, c32 = state32
    got_error = sgd_visit(
        order,
        ratings,
        lr,
        Penalty(alpha, alpha_bias, True),
        Side(bu32, p32),
        Side(bi32, q32),
        c32,
    )
    assert got_error == pytest.approx(squared_error, rel=1e-5)
    for got, want in zip(state32, expected, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_cell_visiting_order_groups_users_and_is_seeded():
    segment_ptr = np.array([0, 3, 7, 8])
    segment_visit = np.empty(3, dtype=np.int64)
    out = np.empty(8, dtype=np.int64)
    cell_visiting_order((0, 3), segment_ptr, np.uint64(5), segment_visit, out)
    groups, pos = [], 0
    for s in segment_visit:
        size = segment_ptr[s + 1] - segment_ptr[s]
        groups.append(sorted(out[pos : pos + size]))
        pos += size
    assert groups == [
        list(range(segment_ptr[s], segment_ptr[s + 1])) for s in segment_visit
    ]
    again = np.empty(8, dtype=np.int64)
    cell_visiting_order((0, 3), segment_ptr, np.uint64(5), segment_visit, again)
    np.testing.assert_array_equal(out, again)


def test_sgd_epoch_visits_every_rating_once():
    rng = np.random.RandomState(0)
    n = 500
    users, items = (
        rng.randint(0, 30, n).astype(np.int32),
        rng.randint(0, 20, n).astype(np.int32),
    )
    data = RatingData(
        users, items, rng.randn(n), 0.0, 1.0, np.ones(n), np.zeros((n, 0)), 30, 20, 2, 2
    )
    options = SolverOptions(
        alpha=0.1, alpha_bias=0.1, fit_bias=True, learning_rate=0.0, order_seed=0
    )
    solver = SGDSolver(data, options)
    model = FactorModel(
        np.zeros(30), np.zeros(20), np.ones((30, 2)), np.ones((20, 2)), np.zeros(0)
    ).astype(np.float32)
    solver.epoch(model)
    np.testing.assert_array_equal(np.sort(solver._visit), np.arange(n))
