"""The ALS half-steps (``_kernels._als``): exact and conjugate-gradient solves against
dense NumPy references."""

import numpy as np
import pytest

from sklearn_mf._kernels._als import als_cg_half_step, als_half_step, weighted_pass
from sklearn_mf._kernels._types import Penalty, Ratings, Side
from sklearn_mf._ratings import RatingData


@pytest.fixture
def small_problem():
    rng = np.random.RandomState(0)
    n_users, n_items, k = 7, 5, 3
    pairs = np.array([(u, i) for u in range(n_users) for i in range(n_items)])
    keep = rng.rand(len(pairs)) < 0.6
    pairs = pairs[keep]
    users, items = pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32)
    target = rng.randn(len(pairs))
    weight = rng.uniform(0.5, 2.0, len(pairs))
    data = RatingData(
        users,
        items,
        target,
        0.0,
        1.0,
        weight,
        np.zeros((len(pairs), 0)),
        n_users,
        n_items,
        k,
        3,
    )
    return data, rng.randn(n_items, k), rng.randn(n_items), k


@pytest.mark.parametrize("alpha_bias", [0.1, 0.0])
@pytest.mark.parametrize("with_prior", [False, True])
@pytest.mark.parametrize("fit_bias", [True, False])
def test_als_half_step_is_the_weighted_ridge_solution(
    small_problem, fit_bias, with_prior, alpha_bias
):
    # Rows with fewer ratings than unknowns take the dual solve (unless the bias is
    # unpenalised), the others the primal one: both must give the ridge solution.
    data, item_factors, item_bias, k = small_problem
    counts = np.bincount(data.user_codes)
    assert (counts < k + fit_bias).any() and (counts >= k + fit_bias).any()
    alpha = 0.3
    side = data.by_user
    n_users = side.indptr.shape[0] - 1
    # A prior m_u changes the penalty to alpha W_u |p - m_u|^2.
    prior = np.random.RandomState(5).randn(n_users if with_prior else 0, k)
    bias, factors = np.full(n_users, 9.0), np.full((n_users, k), 9.0)
    als_half_step(
        side.chunks,
        side.ratings(side.gather(data.target)),
        Side(item_bias, item_factors),
        Penalty(alpha, alpha_bias, fit_bias),
        prior,
        Side(bias, factors),
    )
    for u in range(n_users):
        rows = data.user_codes == u
        z = item_factors[data.item_codes[rows]]
        if fit_bias:
            z = np.hstack([np.ones((z.shape[0], 1)), z])
        w = data.weight[rows]
        t = data.target[rows] - item_bias[data.item_codes[rows]]
        penalty = np.full(z.shape[1], alpha)
        if fit_bias:
            penalty[0] = alpha_bias
        rhs = z.T @ (w * t)
        if with_prior:
            rhs[-k:] += w.sum() * alpha * prior[u]
        solution = np.linalg.solve(
            z.T @ (w[:, None] * z) + w.sum() * np.diag(penalty), rhs
        )
        np.testing.assert_allclose(factors[u], solution[-k:], rtol=1e-9, atol=1e-12)
        if fit_bias:
            assert bias[u] == pytest.approx(solution[0], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("fit_bias", [True, False])
def test_cg_half_step_converges_to_the_exact_solve(small_problem, fit_bias):
    data, item_factors, item_bias, k = small_problem
    side = data.by_user
    arguments = (
        side.chunks,
        side.ratings(side.gather(data.target)),
        Side(item_bias, item_factors),
        Penalty(0.3, 0.1, fit_bias),
        np.random.RandomState(5).randn(7, k),  # a prior: the general case
    )
    exact_bias, exact = np.zeros(7), np.zeros((7, k))
    als_half_step(*arguments, Side(exact_bias, exact))
    bias, factors = np.ones(7), np.ones((7, k))
    # CG solves a (k + 1)-dimensional problem exactly in k + 1 steps.
    als_cg_half_step(*arguments, k + 1, Side(bias, factors), np.zeros(0), None)
    np.testing.assert_allclose(factors, exact, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bias, exact_bias, rtol=1e-8, atol=1e-10)


def _cg_users(
    data,
    item_bias,
    item_factors,
    n_steps,
    bias,
    factors,
    squared_errors,
    prefetch=False,
):
    """CG steps on every user of ``data`` (alpha 0.3, alpha_bias 0.1, no prior),
    prefetching from ``item_factors`` if ``prefetch``."""
    side = data.by_user
    als_cg_half_step(
        side.chunks,
        side.ratings(side.gather(data.target)),
        Side(item_bias, item_factors),
        Penalty(0.3, 0.1, True),
        np.zeros((0, item_factors.shape[1])),
        n_steps,
        Side(bias, factors),
        squared_errors,
        item_factors if prefetch else None,
    )


def test_one_cg_step_lowers_every_row_objective(small_problem):
    data, item_factors, item_bias, k = small_problem
    side = data.by_user
    target = side.gather(data.target)
    start_bias, start = (
        np.random.RandomState(3).randn(7),
        np.random.RandomState(4).randn(7, k),
    )
    bias, factors = start_bias.copy(), start.copy()
    squared_errors = np.empty(7)
    _cg_users(data, item_bias, item_factors, 1, bias, factors, squared_errors)

    def squared_error(u, b, p):
        rows = slice(side.indptr[u], side.indptr[u + 1])
        items, w = side.other[rows], side.weight[rows]
        err = target[rows] - item_bias[items] - b - item_factors[items] @ p
        return w @ err**2

    def row_objective(u, b, p):
        w = side.weight[side.indptr[u] : side.indptr[u + 1]]
        return squared_error(u, b, p) + w.sum() * (0.3 * p @ p + 0.1 * b * b)

    for u in range(7):
        assert row_objective(u, bias[u], factors[u]) < row_objective(
            u, start_bias[u], start[u]
        )
        # The half-step also scores each row at its new bias and vector.
        assert squared_errors[u] == pytest.approx(squared_error(u, bias[u], factors[u]))


def test_cg_half_step_reads_float32_vectors_in_float64_arithmetic(small_problem):
    data, item_factors, item_bias, k = small_problem
    rounded = item_factors.astype(np.float32)

    # The same solve as on the rounded vectors held in float64 (the solver
    # prefetches from a float32 copy).
    for got, expected in zip(
        _cg_solve(data, item_bias, rounded, prefetch=True),
        _cg_solve(data, item_bias, rounded.astype(np.float64)),
        strict=True,
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def _cg_solve(data, item_bias, item_factors, prefetch=False):
    """Two CG steps from zero on every user: biases, vectors, squared errors."""
    k = item_factors.shape[1]
    bias, factors, squared_errors = np.zeros(7), np.zeros((7, k)), np.empty(7)
    _cg_users(data, item_bias, item_factors, 2, bias, factors, squared_errors, prefetch)
    return bias, factors, squared_errors


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cg_half_step_prefetch_hints_change_nothing(small_problem, dtype):
    data, item_factors, item_bias, _ = small_problem
    other_factors = item_factors.astype(dtype)
    for got, expected in zip(
        _cg_solve(data, item_bias, other_factors, prefetch=True),
        _cg_solve(data, item_bias, other_factors),
        strict=True,
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_als_half_step_zeroes_rows_without_weight(small_problem):
    data, item_factors, item_bias, k = small_problem
    side = data.by_user
    weight = np.zeros(side.order.shape[0])
    bias, factors = np.ones(7), np.ones((7, k))
    als_half_step(
        side.chunks,
        Ratings(side.indptr, side.other, side.gather(data.target), weight),
        Side(item_bias, item_factors),
        Penalty(0.1, 0.1, True),
        np.zeros((0, k)),
        Side(bias, factors),
    )
    assert not bias.any() and not factors.any()


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("residual", [True, False])
def test_weighted_pass_matches_one_rating_at_a_time(residual, dtype, prefetch):
    # Rows of every length modulo the batch of four, with zero weights among them
    # (the last rating's included): the repeated ratings that fill a short last
    # batch must add nothing. Prefetch hints (here for more, as many and fewer
    # vectors than the pass has batches) change nothing.
    rng = np.random.RandomState(3)
    k = 5
    factors = rng.randn(9, k).astype(dtype)
    bias = rng.randn(9)
    x, x_bias = rng.randn(k), 0.7
    for n in range(10):
        index = rng.randint(0, 9, n).astype(np.int32)
        target = rng.randn(n)
        weight = np.where(rng.rand(n) < 0.3, 0.0, rng.uniform(0.5, 2.0, n))
        estimate = x_bias + factors[index].astype(np.float64) @ x
        c = weight * (target - bias[index] - estimate if residual else estimate)
        out = np.ones(k)
        n_prefetch = max((n + 3) // 4 + n % 3 - 1, 0)  # batches -1, +0, +1
        prefetch_index = rng.randint(0, 9, n_prefetch).astype(np.int32)
        row = (factors, index, target, bias, weight, x, x_bias, residual, out)
        if prefetch:
            total = weighted_pass(*row, factors, prefetch_index)
        else:
            total = weighted_pass(*row, None, None)
        np.testing.assert_allclose(total, c.sum(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            out, 1.0 + c @ factors[index], rtol=1e-12, atol=1e-12
        )
