"""Stochastic gradient descent over the ratings (Funk/Koren SVD), parallel and exact.

The ratings are split into ``n_blocks x n_blocks`` cells by a partition of the users
and of the items into ``n_blocks`` blocks each. The cells ``(b, (b + d) mod n_blocks)``
of one "diagonal" ``d`` share no user and no item, so they are processed in parallel
without touching the same rows; an epoch runs the diagonals one after the other
(LIBMF's schedule). Which thread runs which cell does not matter, so the result is
the same for any number of threads.

Within a cell the ratings are stored user by user ("segments"), each user's in an
order shuffled once; an epoch shuffles the order of the segments and starts each one
at a random position, so the ratings are read in storage order (no index array, no
scattered loads) and the user's vector stays in a per-cell scratch vector for the
whole segment.
"""

import numba
import numpy as np

from . import FASTMATH
from ._random import GOLDEN, random_below
from ._sort import group_positions


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
def shuffle_segments(segment_ptr, seed, out):
    """Shuffle each segment ``segment_ptr[s]:segment_ptr[s + 1]`` of ``out`` in
    place, segment ``s`` driven by ``seed`` and ``s`` alone."""
    for s in range(segment_ptr.shape[0] - 1):
        shuffle_range(
            out, segment_ptr[s], segment_ptr[s + 1], seed ^ (np.uint64(s + 1) * GOLDEN)
        )


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
def cell_layout(
    user_codes, item_codes, target, weight, user_block, item_block, n_blocks, order
):
    """SGD's storage order: the ratings grouped by cell (user block ``a``, item block
    ``b``, both below ``n_blocks``: cell ``a * n_blocks + b``), then by
    user, then by item, repeats of a pair by target and weight (stable counting
    sorts, so the order does not depend on the order of the rows), written to
    ``order``. Returns the segments, runs of one user's ratings within a cell:
    ``(segment_ptr, segment_user, cell_segment_ptr)`` (see :func:`sgd_epoch`).
    """
    n = user_codes.shape[0]
    n_cells = n_blocks * n_blocks
    scratch = np.empty_like(order)
    group_positions(item_codes, np.arange(n), item_block.shape[0], scratch)
    group_positions(user_codes, scratch, user_block.shape[0], order)
    _order_repeats(order, user_codes, item_codes, target, weight)
    cell = np.empty(n, dtype=np.int32)
    for p in range(n):
        cell[p] = user_block[user_codes[p]] * n_blocks + item_block[item_codes[p]]
    scratch[:] = order
    cell_ptr = group_positions(cell, scratch, n_cells, order)
    n_segments = 0
    for c in range(n_cells):
        for q in range(cell_ptr[c], cell_ptr[c + 1]):
            if q == cell_ptr[c] or user_codes[order[q]] != user_codes[order[q - 1]]:
                n_segments += 1
    segment_ptr = np.empty(n_segments + 1, dtype=np.int64)
    segment_user = np.empty(n_segments, dtype=user_codes.dtype)
    cell_segment_ptr = np.empty(n_cells + 1, dtype=np.int64)
    s = 0
    for c in range(n_cells):
        cell_segment_ptr[c] = s
        for q in range(cell_ptr[c], cell_ptr[c + 1]):
            user = user_codes[order[q]]
            if q == cell_ptr[c] or user != user_codes[order[q - 1]]:
                segment_ptr[s] = q
                segment_user[s] = user
                s += 1
    cell_segment_ptr[n_cells] = s
    segment_ptr[s] = n
    return segment_ptr, segment_user, cell_segment_ptr


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def sgd_segment(
    user, start, stop, first, ratings, learning_rate, penalty, users, items, coef, p
):
    """Take one gradient step on each of ``user``'s ratings ``start:stop``, from
    position ``first`` to the end and then from ``start`` up to ``first``.

    ``ratings`` (:class:`~._types.ShuffledRatings`) hold each rating's item ``i``,
    target, weight ``w_r`` and feature row ``x_r``; ``users`` and ``items``
    (:class:`~._types.Side`) the biases ``b`` and vectors ``p``, ``q``, and ``coef``
    the feature coefficients, all updated in place. The step for rating ``r`` is
    ``learning_rate * w_r`` times the negative half-gradient of ``e_r^2 +
    alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |coef|^2)`` (the
    :class:`~._types.Penalty` ``penalty``; biases only with ``fit_bias``), the
    per-rating share of the objective, with ``e_r`` the residual of the target (the
    standardised rating minus the global mean).

    The user's bias and vector are held in a local and in the scratch ``p`` (length
    ``k``) for the whole segment and written back at its end: each step reads the
    vector the previous one wrote, and a store to the factor matrix followed by a
    load of it would sit on that chain.

    Every array holds float32 (twice the SIMD width and half the memory traffic of
    float64); the scalars are cast so that no step promotes to float64. Returns
    ``sum_r w_r e_r^2`` over the visited ratings, each error taken before its step,
    summed in float64.
    """
    item_codes = ratings.items
    target, weight, features = ratings.target, ratings.weight, ratings.features
    user_factors = users.vectors
    item_bias, item_factors = items.bias, items.vectors
    fit_bias = penalty.fit_bias
    k = user_factors.shape[1]
    n_features = coef.shape[0]
    rate = np.float32(learning_rate)
    alpha = np.float32(penalty.alpha)
    alpha_bias = np.float32(penalty.alpha_bias)
    for f in range(k):
        p[f] = user_factors[user, f]
    user_bias = users.bias[user]
    squared_error = 0.0
    r = first - 1
    for _ in range(stop - start):
        r += 1
        if r == stop:
            r = start
        step = rate * weight[r]
        if step == 0:
            continue
        i = item_codes[r]
        dot = np.float32(0.0)
        for f in range(k):
            dot += p[f] * item_factors[i, f]
        for c in range(n_features):
            dot += features[r, c] * coef[c]
        err = target[r] - user_bias - item_bias[i] - dot
        squared_error += np.float64(weight[r]) * np.float64(err) * np.float64(err)
        if fit_bias:
            user_bias += step * (err - alpha_bias * user_bias)
            item_bias[i] += step * (err - alpha_bias * item_bias[i])
        for f in range(k):
            pf = p[f]
            q = item_factors[i, f]
            p[f] = pf + step * (err * q - alpha * pf)
            item_factors[i, f] = q + step * (err * pf - alpha * q)
        for c in range(n_features):
            coef[c] += step * (err * features[r, c] - alpha_bias * coef[c])
    for f in range(k):
        user_factors[user, f] = p[f]
    users.bias[user] = user_bias
    return squared_error


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _padded(n):
    """``n`` rounded up to whole 64-byte cache lines of float32 (or more of float64),
    plus one line, so that rows of this length start a line apart whatever the
    array's alignment."""
    return (n + 15) // 16 * 16 + 16


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def sgd_epoch(
    cell_segment_ptr,
    segment_ptr,
    segment_user,
    diagonal_order,
    seed,
    segment_visit,
    ratings,
    learning_rate,
    penalty,
    users,
    items,
    coef,
):
    """One epoch: the diagonals in ``diagonal_order``, each one's cells in parallel.

    The ratings are stored cell by cell (cell ``a * n_blocks + b`` for user block
    ``a`` and item block ``b``) and within a cell user by user: the cell's segments
    are ``cell_segment_ptr[cell]:cell_segment_ptr[cell + 1]``, segment ``s`` holds
    the ratings ``segment_ptr[s]:segment_ptr[s + 1]`` of user ``segment_user[s]``,
    stored in random order. Each epoch visits a cell's segments in a fresh random
    order (written to the scratch ``segment_visit``, one slot per segment), and each
    segment from a fresh random starting point (:func:`sgd_segment`), so that the
    ratings are read in storage order. ``seed`` drives the epoch's choices.
    ``ratings``, ``learning_rate``, ``penalty``, ``users``, ``items`` and ``coef``
    are as in :func:`sgd_segment`. Returns the weighted squared errors met during
    the epoch (see ``sgd_segment``).
    """
    n_blocks = diagonal_order.shape[0]
    n_features = coef.shape[0]
    k = users.vectors.shape[1]
    # The feature coefficients are shared by every cell: each cell of a diagonal
    # updates its own copy, and the copies are then averaged, weighted by the cells'
    # numbers of ratings (fixed order, so the result does not depend on threads).
    # Per-cell scratch is allocated up front (see _als.als_half_step), each cell's
    # row padded to whole cache lines: the rows are written on every step, by as
    # many threads as cells, and rows sharing a line would bounce it between cores.
    local_coef = np.empty((n_blocks, _padded(n_features)), dtype=coef.dtype)
    user_vector = np.empty((n_blocks, _padded(k)), dtype=users.vectors.dtype)
    cell_size = np.empty(n_blocks)
    cell_error = np.empty(n_blocks)
    squared_error = 0.0
    for d in range(n_blocks):
        shift = diagonal_order[d]
        for b in numba.prange(n_blocks):
            cell = b * n_blocks + (b + shift) % n_blocks
            first = cell_segment_ptr[cell]
            last = cell_segment_ptr[cell + 1]
            state = seed ^ (np.uint64(cell + 1) * GOLDEN)
            for s in range(first, last):
                segment_visit[s] = s
            # The starting points continue the stream after the shuffle, so they are
            # not the draws that ordered the segments.
            state = shuffle_range(segment_visit, first, last, state)
            cell_size[b] = segment_ptr[last] - segment_ptr[first]
            local_coef[b, :n_features] = coef
            error = 0.0
            for n in range(first, last):
                s = segment_visit[n]
                start = segment_ptr[s]
                stop = segment_ptr[s + 1]
                state, offset = random_below(state, stop - start)
                error += sgd_segment(
                    segment_user[s],
                    start,
                    stop,
                    start + offset,
                    ratings,
                    learning_rate,
                    penalty,
                    users,
                    items,
                    local_coef[b, :n_features],
                    user_vector[b, :k],
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
