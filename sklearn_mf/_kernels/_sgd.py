"""Stochastic gradient descent over the ratings (Funk/Koren SVD), parallel and exact.

The ratings are split into ``n_blocks x n_blocks`` cells by a partition of the users
and of the items into ``n_blocks`` blocks each. The cells ``(b, (b + d) mod n_blocks)``
of one "diagonal" ``d`` share no user and no item, so they are processed in parallel
without touching the same rows; an epoch runs the diagonals one after the other
(LIBMF's schedule). Which thread runs which cell does not matter, so the result is
the same for any number of threads.
"""

import numba
import numpy as np

from . import FASTMATH
from ._random import GOLDEN, splitmix64


@numba.njit(cache=True, error_model="numpy", nogil=True)
def shuffle_range(values, start, stop, seed):
    """Shuffle ``values[start:stop]`` in place (Fisher-Yates driven by ``seed``)."""
    state = seed
    for j in range(stop - start - 1, 0, -1):
        state, z = splitmix64(state)
        # Lemire's multiply-shift maps 32 random bits to [0, j]: no slow 64-bit modulo.
        pick = start + np.int64(
            ((z >> np.uint64(32)) * np.uint64(j + 1)) >> np.uint64(32)
        )
        values[start + j], values[pick] = values[pick], values[start + j]


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def sgd_visit(positions, ratings, learning_rate, penalty, users, items, coef):
    """Take one gradient step on each rating in ``positions``, in that order.

    ``ratings`` (:class:`~._types.ShuffledRatings`) hold each rating's user ``u``,
    item ``i``, target, weight ``w_r`` and feature row ``x_r``; ``users`` and
    ``items`` (:class:`~._types.Side`) the biases ``b`` and vectors ``p``, ``q``,
    and ``coef`` the feature coefficients, all updated in place. The step for rating
    ``r`` is ``learning_rate * w_r`` times the negative half-gradient of ``e_r^2 +
    alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |coef|^2)`` (the
    :class:`~._types.Penalty` ``penalty``; biases only with ``fit_bias``), the
    per-rating share of the objective, with ``e_r`` the residual of the target (the
    standardised rating minus the global mean). Biases are updated first, as in
    Surprise's SVD.

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
    for n in range(positions.shape[0]):
        r = positions[n]
        u = user_codes[r]
        i = item_codes[r]
        step = rate * weight[r]
        if step == 0:
            continue
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
def cell_visiting_order(cell_segments, segment_ptr, seed, segment_visit, visit):
    """Write a cell's visiting order into ``visit``: its users in random order, each
    user's ratings in random order.

    ``segment_ptr[s]:segment_ptr[s + 1]`` are the positions of one user's ratings in
    the cell, for the segments ``s`` in ``cell_segments`` (a range). Keeping a user's
    ratings together keeps that user's vector in cache. The shuffles are driven by
    ``seed``; ``segment_visit`` (one slot per segment) is scratch.
    """
    first, last = cell_segments
    for s in range(first, last):
        segment_visit[s] = s
    shuffle_range(segment_visit, first, last, seed)
    pos = segment_ptr[first]
    for n in range(first, last):
        s = segment_visit[n]
        size = segment_ptr[s + 1] - segment_ptr[s]
        for j in range(size):
            visit[pos + j] = segment_ptr[s] + j
        shuffle_range(visit, pos, pos + size, seed ^ (np.uint64(s + 1) * GOLDEN))
        pos += size


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def sgd_epoch(
    cell_segment_ptr,
    segment_ptr,
    diagonal_order,
    seed,
    segment_visit,
    visit,
    ratings,
    learning_rate,
    penalty,
    users,
    items,
    coef,
):
    """One epoch: the diagonals in ``diagonal_order``, each one's cells in parallel.

    The ratings are stored cell by cell (cell ``a * n_blocks + b`` for user block
    ``a`` and item block ``b``) and within a cell user by user: the cell's user
    segments are ``cell_segment_ptr[cell]:cell_segment_ptr[cell + 1]``, and
    ``segment_ptr`` bounds each segment's ratings. Each epoch visits a cell's users,
    and each user's ratings, in a fresh random order, written to the scratch arrays
    ``segment_visit`` (one slot per segment) and ``visit`` (one slot per rating).
    ``seed`` drives the epoch's visiting orders. ``ratings``, ``learning_rate``,
    ``penalty``, ``users``, ``items`` and ``coef`` are as in :func:`sgd_visit`.
    Returns the weighted squared errors met during the epoch (see ``sgd_visit``).
    """
    n_blocks = diagonal_order.shape[0]
    n_features = coef.shape[0]
    # The feature coefficients are shared by every cell: each cell of a diagonal
    # updates its own copy, and the copies are then averaged, weighted by the cells'
    # numbers of ratings (fixed order, so the result does not depend on threads).
    local_coef = np.empty((n_blocks, n_features), dtype=coef.dtype)
    cell_size = np.empty(n_blocks)
    cell_error = np.empty(n_blocks)
    squared_error = 0.0
    for s in range(n_blocks):
        shift = diagonal_order[s]
        for b in numba.prange(n_blocks):
            cell = b * n_blocks + (b + shift) % n_blocks
            first = cell_segment_ptr[cell]
            last = cell_segment_ptr[cell + 1]
            cell_visiting_order(
                (first, last),
                segment_ptr,
                seed ^ (np.uint64(cell + 1) * GOLDEN),
                segment_visit,
                visit,
            )
            start = segment_ptr[first]
            stop = segment_ptr[last]
            cell_size[b] = stop - start
            local_coef[b, :] = coef
            cell_error[b] = sgd_visit(
                visit[start:stop],
                ratings,
                learning_rate,
                penalty,
                users,
                items,
                local_coef[b],
            )
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
