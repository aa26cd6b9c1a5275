"""Stochastic gradient descent over the ratings (Funk/Koren SVD), parallel and exact.

The ratings are split into ``n_blocks x n_blocks`` cells by a partition of the users
and of the items into ``n_blocks`` blocks each. The cells ``(b, (b + d) mod n_blocks)``
of one "diagonal" ``d`` share no user and no item, so they are processed in parallel
without touching the same rows; an epoch runs the diagonals one after the other
(LIBMF's schedule). Which thread runs which cell does not matter, so the result is
the same for any number of threads.

Within a cell the ratings are stored in an order shuffled once (as LIBMF shuffles
its ratings once) and cut into chunks; an epoch visits a cell's chunks in a fresh
random order, each from a fresh random starting point, so the ratings are read in
storage order (no index array, no scattered loads of the ratings) and consecutive
steps belong to different users and items: no step waits for the one before it,
which grouping a user's ratings together would make it do, through the user's
vector.
"""

import numba
import numpy as np

from . import FASTMATH
from ._parallel import parallel_kernel
from ._random import GOLDEN, random_below


@numba.njit(cache=True, error_model="numpy", nogil=True)
def shuffle_range(values, start, stop, seed):
    """Shuffle ``values[start:stop]`` in place (Fisher-Yates driven by ``seed``);
    return the generator's state after it, for draws that must not repeat its own."""
    state = seed
    for j in range(stop - start - 1, 0, -1):
        state, pick = random_below(state, j + 1)
        values[start + j], values[start + pick] = (
            values[start + pick],
            values[start + j],
        )
    return state


@numba.njit(cache=True, error_model="numpy", nogil=True)
def deal_runs(run_ratings, run_order, n_blocks):
    """Deal the runs, in ``run_order``, each to the block (below ``n_blocks``) with
    the fewest ratings so far (the lowest such block on ties); return each run's
    block. A block ends at most one run's ``run_ratings`` above another."""
    block_ratings = np.zeros(n_blocks, dtype=np.int64)
    run_block = np.empty(run_ratings.shape[0], dtype=np.int64)
    for run in run_order:
        block = np.argmin(block_ratings)
        run_block[run] = block
        block_ratings[block] += run_ratings[run]
    return run_block


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _order_repeats(order, users, items, target, weight):
    """Order each run of ratings of one (user, item) pair in ``order`` by target,
    then weight (insertion sort: runs are short), so that the order does not depend
    on the rows' positions."""
    start = 0
    n = order.shape[0]
    while start < n:
        end = start + 1
        while (
            end < n
            and users[order[end]] == users[order[start]]
            and items[order[end]] == items[order[start]]
        ):
            end += 1
        for a in range(start + 1, end):
            p = order[a]
            b = a
            while b > start and (
                target[order[b - 1]] > target[p]
                or (
                    target[order[b - 1]] == target[p]
                    and weight[order[b - 1]] > weight[p]
                )
            ):
                order[b] = order[b - 1]
                b -= 1
            order[b] = p
        start = end


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _permute(values, start, order):
    """Rearrange ``values[start:start + len(order)]`` so that its ``j``-th entry is
    the ``order[j]``-th one before."""
    block = values[start : start + order.shape[0]].copy()
    for j in range(order.shape[0]):
        values[start + j] = block[order[j]]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def cell_layout(
    indptr,
    items,
    target,
    weight,
    user_block,
    item_block,
    n_blocks,
    seed,
    out,
    positions,
):
    """SGD's storage order, from the ratings grouped by user (CSR ``indptr``, each
    user's sorted by item ``items``, with ``target`` and ``weight`` in the same
    order).

    The ratings are grouped by cell (user block ``a``, item block ``b``, both below
    ``n_blocks``: cell ``a * n_blocks + b``), within a cell by user and item, repeats
    of a pair by target and weight (a stable counting sort, so the order does not
    depend on the order of the rows), and then each cell's are shuffled (Fisher-Yates,
    cell ``c`` driven by ``seed`` and ``c`` alone). Writes them to ``out``
    (:class:`~._types.ShuffledRatings` but its features: codes as they are, target
    and weight in float32) and their positions in the by-user order to
    ``positions``. Returns each cell's start, then the number of ratings.

    The ratings are carried into the cells' streams in one pass, and each cell is
    shuffled on its own: gathering them through the shuffled order would read the
    by-user arrays at random, all of them for every cell.
    """
    n = items.shape[0]
    n_cells = n_blocks * n_blocks
    users = np.empty(n, dtype=out.users.dtype)
    cell = np.empty(n, dtype=np.int32)
    cell_ptr = np.zeros(n_cells + 1, dtype=np.int64)
    repeats = False
    for u in range(indptr.shape[0] - 1):
        row_cell = user_block[u] * n_blocks
        for q in range(indptr[u], indptr[u + 1]):
            users[q] = u
            cell[q] = row_cell + item_block[items[q]]
            cell_ptr[cell[q] + 1] += 1
            repeats |= q > indptr[u] and items[q] == items[q - 1]
    for c in range(n_cells):
        cell_ptr[c + 1] += cell_ptr[c]
    grouped = np.empty_like(positions)
    for q in range(n):
        grouped[q] = q
    if repeats:
        _order_repeats(grouped, users, items, target, weight)
    fill = cell_ptr[:-1].copy()
    for q in range(n):
        p = grouped[q]
        slot = fill[cell[p]]
        fill[cell[p]] = slot + 1
        positions[slot] = p
        out.users[slot] = users[p]
        out.items[slot] = items[p]
        out.target[slot] = target[p]
        out.weight[slot] = weight[p]
    visit = np.empty(np.max(cell_ptr[1:] - cell_ptr[:-1]), dtype=np.int64)
    for c in range(n_cells):
        start, stop = cell_ptr[c], cell_ptr[c + 1]
        for j in range(stop - start):
            visit[j] = j
        shuffle_range(visit, 0, stop - start, seed ^ (np.uint64(c + 1) * GOLDEN))
        order = visit[: stop - start]
        _permute(positions, start, order)
        _permute(out.users, start, order)
        _permute(out.items, start, order)
        _permute(out.target, start, order)
        _permute(out.weight, start, order)
    return cell_ptr


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def sgd_chunk(start, stop, first, ratings, learning_rate, penalty, users, items, coef):
    """Take one gradient step on each of the ratings ``start:stop``, from position
    ``first`` to the end and then from ``start`` up to ``first``.

    ``ratings`` (:class:`~._types.ShuffledRatings`) hold each rating's user ``u``,
    item ``i``, target, weight ``w_r`` and feature row ``x_r``; ``users`` and
    ``items`` (:class:`~._types.Side`) the biases ``b`` and vectors ``p``, ``q``, and
    ``coef`` the feature coefficients, all updated in place. The step for rating
    ``r`` is ``learning_rate * w_r`` times the negative half-gradient of ``e_r^2 +
    alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |coef|^2)`` (the
    :class:`~._types.Penalty` ``penalty``; biases only with ``fit_bias``), the
    per-rating share of the objective, with ``e_r`` the residual of the target (the
    standardised rating minus the global mean).

    Every array holds float32 (twice the SIMD width and half the memory traffic of
    float64); the scalars are cast so that no step promotes to float64. Returns
    ``sum_r w_r e_r^2`` over the visited ratings, each error taken before its step,
    summed in float64.
    """
    user_codes, item_codes = ratings.users, ratings.items
    target, weight, features = ratings.target, ratings.weight, ratings.features
    user_bias, user_factors = users.bias, users.vectors
    item_bias, item_factors = items.bias, items.vectors
    fit_bias = penalty.fit_bias
    k = user_factors.shape[1]
    n_features = coef.shape[0]
    rate = np.float32(learning_rate)
    alpha = np.float32(penalty.alpha)
    alpha_bias = np.float32(penalty.alpha_bias)
    squared_error = 0.0
    r = first - 1
    for _ in range(stop - start):
        r += 1
        if r == stop:
            r = start
        step = rate * weight[r]
        if step == 0:
            continue
        u = user_codes[r]
        i = item_codes[r]
        dot = np.float32(0.0)
        for f in range(k):
            dot += user_factors[u, f] * item_factors[i, f]
        for c in range(n_features):
            dot += features[r, c] * coef[c]
        err = target[r] - user_bias[u] - item_bias[i] - dot
        squared_error += np.float64(weight[r]) * np.float64(err) * np.float64(err)
        if fit_bias:
            user_bias[u] += step * (err - alpha_bias * user_bias[u])
            item_bias[i] += step * (err - alpha_bias * item_bias[i])
        for f in range(k):
            p = user_factors[u, f]
            q = item_factors[i, f]
            user_factors[u, f] = p + step * (err * q - alpha * p)
            item_factors[i, f] = q + step * (err * p - alpha * q)
        for c in range(n_features):
            coef[c] += step * (err * features[r, c] - alpha_bias * coef[c])
    return squared_error


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _padded(n):
    """``n`` rounded up to whole 64-byte cache lines of float32 (or more of float64),
    plus one line, so that rows of this length start a line apart whatever the
    array's alignment."""
    return (n + 15) // 16 * 16 + 16


@parallel_kernel(cache=True, error_model="numpy", nogil=True)
def sgd_epoch(
    cell_chunk_ptr,
    chunk_ptr,
    diagonal_order,
    seed,
    chunk_visit,
    ratings,
    learning_rate,
    penalty,
    users,
    items,
    coef,
):
    """One epoch: the diagonals in ``diagonal_order``, each one's cells in parallel.

    The ratings are stored cell by cell (cell ``a * n_blocks + b`` for user block
    ``a`` and item block ``b``), in random order within a cell, and cut into chunks:
    the cell's chunks are ``cell_chunk_ptr[cell]:cell_chunk_ptr[cell + 1]``, chunk
    ``c`` holds the ratings ``chunk_ptr[c]:chunk_ptr[c + 1]``. Each epoch visits a
    cell's chunks in a fresh random order (written to the scratch ``chunk_visit``,
    one slot per chunk), and each chunk from a fresh random starting point
    (:func:`sgd_chunk`), so that the ratings are read in storage order. ``seed``
    drives the epoch's choices. ``ratings``, ``learning_rate``, ``penalty``,
    ``users``, ``items`` and ``coef`` are as in :func:`sgd_chunk`. Returns the
    weighted squared errors met during the epoch (see ``sgd_chunk``).
    """
    n_blocks = diagonal_order.shape[0]
    n_features = coef.shape[0]
    # The feature coefficients are shared by every cell: each cell of a diagonal
    # updates its own copy, and the copies are then averaged, weighted by the cells'
    # numbers of ratings (fixed order, so the result does not depend on threads).
    # Per-cell scratch is allocated up front (see _als.als_half_step), each cell's
    # row padded to whole cache lines: the rows are written on every step, by as
    # many threads as cells, and rows sharing a line would bounce it between cores.
    local_coef = np.empty((n_blocks, _padded(n_features)), dtype=coef.dtype)
    cell_size = np.empty(n_blocks)
    cell_error = np.empty(n_blocks)
    squared_error = 0.0
    for d in range(n_blocks):
        shift = diagonal_order[d]
        for b in numba.prange(n_blocks):
            cell = b * n_blocks + (b + shift) % n_blocks
            first = cell_chunk_ptr[cell]
            last = cell_chunk_ptr[cell + 1]
            state = seed ^ (np.uint64(cell + 1) * GOLDEN)
            for c in range(first, last):
                chunk_visit[c] = c
            # The starting points continue the stream after the shuffle, so they are
            # not the draws that ordered the chunks.
            state = shuffle_range(chunk_visit, first, last, state)
            cell_size[b] = chunk_ptr[last] - chunk_ptr[first]
            local_coef[b, :n_features] = coef
            error = 0.0
            for n in range(first, last):
                c = chunk_visit[n]
                start = chunk_ptr[c]
                stop = chunk_ptr[c + 1]
                state, offset = random_below(state, stop - start)
                error += sgd_chunk(
                    start,
                    stop,
                    start + offset,
                    ratings,
                    learning_rate,
                    penalty,
                    users,
                    items,
                    local_coef[b, :n_features],
                )
            cell_error[b] = error
        # Summed in cell order, so the total does not depend on the threads either.
        for b in range(n_blocks):
            squared_error += cell_error[b]
        total = cell_size.sum()
        if total > 0 and n_features:
            for c in range(n_features):
                mean = 0.0
                for b in range(n_blocks):
                    mean += cell_size[b] * local_coef[b, c]
                coef[c] = mean / total
    return squared_error
