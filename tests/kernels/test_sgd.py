"""The SGD kernels (``_kernels._sgd``): one chunk against a Python reference, the
shuffles, the cell layout and an epoch's coverage of the ratings."""

import numpy as np
import pytest

from sklearn_mf._kernels._random import GOLDEN
from sklearn_mf._kernels._sgd import cell_layout, deal_runs, sgd_chunk, shuffle_range
from sklearn_mf._kernels._types import Penalty, ShuffledRatings, Side
from sklearn_mf._ratings import RatingData
from sklearn_mf._solvers import FactorModel, SolverOptions
from sklearn_mf._solvers._sgd import SGDSolver, _chunks


@pytest.mark.parametrize("fit_bias", [True, False])
@pytest.mark.parametrize("first", [0, 7, 39])
def test_sgd_chunk_matches_python_reference(first, fit_bias):
    rng = np.random.RandomState(2)
    n, k = 40, 3
    users = rng.randint(0, 4, n).astype(np.int32)
    items = rng.randint(0, 5, n).astype(np.int32)
    target, weight = rng.randn(n), rng.uniform(0, 2, n)
    weight[[5, 20]] = 0.0  # skipped: no step, no error
    features = rng.randn(n, 2)
    state = [rng.randn(4), rng.randn(5), rng.randn(4, k), rng.randn(5, k), rng.randn(2)]
    expected = [a.copy() for a in state]
    lr, alpha, alpha_bias = 0.05, 0.1, 0.02
    bu, bi, p, q, c = expected
    squared_error = 0.0
    for r in [*range(first, n), *range(first)]:
        user, i, s = users[r], items[r], lr * weight[r]
        err = target[r] - (bu[user] + bi[i] + p[user] @ q[i] + features[r] @ c)
        squared_error += weight[r] * err**2
        if fit_bias:
            bu[user] += s * (err - alpha_bias * bu[user])
            bi[i] += s * (err - alpha_bias * bi[i])
        p[user], q[i] = (
            p[user] + s * (err * q[i] - alpha * p[user]),
            q[i] + s * (err * p[user] - alpha * q[i]),
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
    got_error = sgd_chunk(
        0,
        n,
        first,
        ratings,
        lr,
        Penalty(alpha, alpha_bias, fit_bias),
        Side(bu32, p32),
        Side(bi32, q32),
        c32,
    )
    assert got_error == pytest.approx(squared_error, rel=1e-5)
    for got, want in zip(state32, expected, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_sgd_epoch_visits_every_rating_once():
    # With a vanishing learning rate nothing moves (a rate of 0 would skip every
    # rating), and the epoch's squared error is the sum over the ratings it visited:
    # each exactly once.
    rng = np.random.RandomState(0)
    n = 500
    users, items = (
        rng.randint(0, 30, n).astype(np.int32),
        rng.randint(0, 20, n).astype(np.int32),
    )
    target, weight = rng.randn(n), rng.uniform(0.5, 2, n)
    data = RatingData(
        users, items, target, 0.0, 1.0, weight, np.zeros((n, 0)), 30, 20, 2, 2
    )
    options = SolverOptions(
        alpha=0.0, alpha_bias=0.0, fit_bias=True, learning_rate=1e-30, order_seed=0
    )
    solver = SGDSolver(data, options)
    model = FactorModel(
        np.zeros(30), np.zeros(20), np.zeros((30, 2)), np.zeros((20, 2)), np.zeros(0)
    ).astype(np.float32)
    loss = solver.epoch(model)
    target32, weight32 = target.astype(np.float32), weight.astype(np.float32)
    expected = np.sum(weight32.astype(float) * target32.astype(float) ** 2)
    assert loss * data.total_weight == pytest.approx(expected, rel=1e-12)


def _layout(
    users, items, target, weight, user_block, item_block, n_blocks, seed, dtype
):
    """cell_layout of ratings given in any order, through the by-user grouping
    RatingData.by_user gives (sorted by item within a user, repeats in row order)."""
    n = users.shape[0]
    by_user = np.lexsort((np.arange(n), items, users))
    indptr = np.searchsorted(users[by_user], np.arange(user_block.shape[0] + 1))
    out = ShuffledRatings(
        np.empty(n, dtype=np.int32),
        np.empty(n, dtype=np.int32),
        np.empty(n, dtype=np.float32),
        np.empty(n, dtype=np.float32),
        np.empty((n, 0), dtype=np.float32),
    )
    positions = np.empty(n, dtype=dtype)
    cell_ptr = cell_layout(
        indptr,
        items[by_user],
        target[by_user],
        weight[by_user],
        user_block,
        item_block,
        n_blocks,
        np.uint64(seed),
        out,
        positions,
    )
    return by_user[positions], out, cell_ptr


@pytest.mark.parametrize("position_dtype", [np.int32, np.int64])
def test_cell_layout_groups_by_cell_and_shuffles_each_cell(position_dtype):
    rng = np.random.RandomState(3)
    n, n_users, n_items, n_blocks = 300, 12, 9, 3
    users = rng.randint(0, n_users, n).astype(np.int32)
    items = rng.randint(0, n_items, n).astype(np.int32)
    target = rng.randint(0, 3, n).astype(float)  # ties, so weights decide some
    weight = rng.randint(1, 3, n).astype(float)
    user_block = rng.randint(0, n_blocks, n_users)
    item_block = rng.randint(0, n_blocks, n_items)
    args = (users, items, target, weight, user_block, item_block, n_blocks, 7)
    rows, out, cell_ptr = _layout(*args, position_dtype)
    # Each cell holds its ratings sorted by user, item, target and weight, then
    # shuffled by the cell's own stream.
    cell = user_block[users] * n_blocks + item_block[items]
    key = np.lexsort((np.arange(n), weight, target, items, users, cell))
    np.testing.assert_array_equal(
        cell_ptr, np.searchsorted(cell[key], np.arange(n_blocks * n_blocks + 1))
    )
    for c in range(n_blocks * n_blocks):
        start, stop = cell_ptr[c], cell_ptr[c + 1]
        visit = np.arange(stop - start)
        with np.errstate(over="ignore"):  # the kernel's wrapping uint64 product
            cell_seed = np.uint64(7) ^ (np.uint64(c + 1) * GOLDEN)
        shuffle_range(visit, 0, stop - start, cell_seed)
        np.testing.assert_array_equal(rows[start:stop], key[start:stop][visit])
    np.testing.assert_array_equal(out.users, users[rows])
    np.testing.assert_array_equal(out.items, items[rows])
    np.testing.assert_array_equal(out.target, target[rows].astype(np.float32))
    np.testing.assert_array_equal(out.weight, weight[rows].astype(np.float32))
    # The rows in another order give the same ratings in the same order; repeated
    # pairs differ only in what ties them.
    order = rng.permutation(n)
    again = _layout(
        users[order],
        items[order],
        target[order],
        weight[order],
        *args[4:],
        position_dtype,
    )[1]
    for got, want in zip(again[:4], out[:4], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_ratings", [0, 1, 5, 1024, 1025, 5000])
def test_chunks_cut_cells_into_nearly_equal_pieces(n_ratings):
    rng = np.random.RandomState(n_ratings)
    lengths = rng.multinomial(n_ratings, np.full(9, 1 / 9))
    cell_ptr = np.concatenate([[0], np.cumsum(lengths)])
    chunk_ptr, cell_chunk_ptr = _chunks(cell_ptr, 1024)
    assert chunk_ptr[0] == 0 and chunk_ptr[-1] == n_ratings
    for c, length in enumerate(lengths):
        bounds = chunk_ptr[cell_chunk_ptr[c] : cell_chunk_ptr[c + 1] + 1]
        sizes = np.diff(bounds)
        assert sizes.sum() == length or length == 0
        assert len(sizes) == -(-length // 1024)
        if len(sizes):
            assert bounds[0] == cell_ptr[c]
            assert sizes.max() <= 1024 and sizes.max() - sizes.min() <= 1


def test_deal_runs_balances_the_blocks_ratings():
    rng = np.random.RandomState(4)
    run_ratings = rng.zipf(1.5, 500).clip(max=2000).astype(np.int64)
    order = rng.permutation(500)
    run_block = deal_runs(run_ratings, order, 8)
    totals = np.bincount(run_block, weights=run_ratings, minlength=8)
    assert totals.sum() == run_ratings.sum()
    # Each run went to the emptiest block, so no block ends more than one run
    # above another.
    assert totals.max() - totals.min() <= run_ratings.max()
    np.testing.assert_array_equal(deal_runs(run_ratings, order, 8), run_block)
