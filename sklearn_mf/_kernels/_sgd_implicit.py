"""Stochastic gradient descent for the implicit-feedback model (SVD++), row by row.

Written for the users' term: user ``u``'s vector is ``p_u + z_u`` with
``z_u = s_u sum_r w_r y_j(r)`` over its ratings. The gradient of one rating's error
reaches the implicit vector ``y_j`` of every item ``j`` the user rated, so Koren's
SGD (and Surprise's ``SVDpp``) costs ``O(|N(u)| k)`` per rating. Visiting a user's
ratings together makes it ``O(k)`` without changing the result: the updates of the
``y_j`` are all multiples of one vector, so they are summed in ``pending`` and
applied once when the user is done, and ``z_u`` is updated in step with them.
The items' term is the mirror image, with the roles of the sides swapped.

Because every row's pass reads and writes implicit vectors shared with other rows,
the rows are visited one after the other, on one thread.
"""

import numba
import numpy as np

from . import FASTMATH
from ._random import GOLDEN
from ._sgd import shuffle_range


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def implicit_row_visit(
    row,
    positions,
    ratings,
    pair_weight,
    features,
    row_scale,
    spread,
    learning_rate,
    penalty,
    alpha_implicit,
    rows,
    others,
    implicit,
    coef,
    implicit_sum,
    pending,
):
    """Take one gradient step on each of ``row``'s ratings, in the order ``positions``.

    ``ratings`` (:class:`~._types.Ratings`, float32 targets and weights) are grouped
    by row; ``pair_weight`` and ``features`` are per rating in the same order;
    ``rows`` and ``others`` (:class:`~._types.Side`) hold the biases and factors of
    this side and of the other, ``implicit`` the other side's implicit vectors
    ``y``, ``coef`` the feature coefficients, all updated in place by steps of
    ``learning_rate`` with the penalties of ``penalty`` (:class:`~._types.Penalty`)
    and ``alpha_implicit``.

    The result is that of stepping on rating ``r`` (item ``i``) with, for every item
    ``j`` of the row, ``y_j += step * err * s * c_j * q_i`` (``s = row_scale[row]``,
    ``c_j = pair_weight`` of the row's ratings of ``j``), and with
    ``y_i -= step * alpha_implicit * y_i``, the half-gradient of the rating's share
    ``w_r alpha_implicit |y_i|^2`` of the objective; the other updates are those of
    :func:`._sgd.sgd_chunk` with ``p_u + z_u`` as the user's vector. Between steps,
    ``y_j = implicit[j] + s c_j pending``, and ``z_u`` (``implicit_sum``) moves by
    ``spread[row] = s^2 sum_r w_r c_j(r)`` times the change of ``pending``.
    ``implicit_sum`` and ``pending`` are scratch vectors of length ``k``. Returns
    ``sum_r w_r e_r^2``, each error taken before its step.
    """
    other, target, weight = ratings.other, ratings.target, ratings.weight
    row_bias, row_factors = rows.bias, rows.vectors
    other_bias, other_factors = others.bias, others.vectors
    fit_bias = penalty.fit_bias
    k = row_factors.shape[1]
    n_features = coef.shape[0]
    rate = np.float32(learning_rate)
    alpha = np.float32(penalty.alpha)
    alpha_bias = np.float32(penalty.alpha_bias)
    alpha_implicit = np.float32(alpha_implicit)
    scale = np.float32(row_scale[row])
    spread = np.float32(spread[row])
    for f in range(k):
        implicit_sum[f] = 0.0
        pending[f] = 0.0
    for n in range(positions.shape[0]):
        r = positions[n]
        share = scale * weight[r]
        j = other[r]
        for f in range(k):
            implicit_sum[f] += share * implicit[j, f]
    squared_error = 0.0
    for n in range(positions.shape[0]):
        r = positions[n]
        i = other[r]
        step = rate * weight[r]
        if step == 0:
            continue
        dot = np.float32(0.0)
        for f in range(k):
            dot += (row_factors[row, f] + implicit_sum[f]) * other_factors[i, f]
        for c in range(n_features):
            dot += features[r, c] * coef[c]
        err = target[r] - row_bias[row] - other_bias[i] - dot
        squared_error += np.float64(weight[r]) * np.float64(err) * np.float64(err)
        if fit_bias:
            row_bias[row] += step * (err - alpha_bias * row_bias[row])
            other_bias[i] += step * (err - alpha_bias * other_bias[i])
        share = scale * pair_weight[r]  # y_i's coefficient in z_u
        decay = step * alpha_implicit
        for f in range(k):
            p = row_factors[row, f]
            q = other_factors[i, f]
            y = implicit[i, f] + share * pending[f]
            gradient = step * err * q
            row_factors[row, f] = p + step * (err * q - alpha * p)
            other_factors[i, f] = q + step * (err * (p + implicit_sum[f]) - alpha * q)
            implicit[i, f] -= decay * y
            pending[f] += gradient
            implicit_sum[f] += spread * gradient - share * decay * y
        for c in range(n_features):
            coef[c] += step * (err * features[r, c] - alpha_bias * coef[c])
    for n in range(positions.shape[0]):
        r = positions[n]
        share = scale * weight[r]
        j = other[r]
        for f in range(k):
            implicit[j, f] += share * pending[f]
    return squared_error


@numba.njit(cache=True, error_model="numpy", nogil=True)
def sgd_implicit_epoch(
    row_order,
    seed,
    visit,
    ratings,
    pair_weight,
    features,
    row_scale,
    spread,
    learning_rate,
    penalty,
    alpha_implicit,
    rows,
    others,
    implicit,
    coef,
):
    """One epoch: the rows in ``row_order``, each row's ratings in a random order
    drawn from ``seed``.

    The ``ratings`` are grouped by row (``ratings.indptr``, CSR); ``visit`` is
    scratch with one slot per rating. ``pair_weight``, ``features``, ``row_scale``,
    ``spread``, ``learning_rate``, ``penalty``, ``alpha_implicit``, ``rows``,
    ``others``, ``implicit`` and ``coef`` are as in :func:`implicit_row_visit`.
    Returns the weighted squared errors met during the epoch.
    """
    indptr = ratings.indptr
    k = rows.vectors.shape[1]
    implicit_sum = np.empty(k, dtype=rows.vectors.dtype)
    pending = np.empty(k, dtype=rows.vectors.dtype)
    squared_error = 0.0
    for n in range(row_order.shape[0]):
        row = row_order[n]
        start = indptr[row]
        stop = indptr[row + 1]
        for r in range(start, stop):
            visit[r] = r
        shuffle_range(visit, start, stop, seed ^ (np.uint64(row + 1) * GOLDEN))
        squared_error += implicit_row_visit(
            row,
            visit[start:stop],
            ratings,
            pair_weight,
            features,
            row_scale,
            spread,
            learning_rate,
            penalty,
            alpha_implicit,
            rows,
            others,
            implicit,
            coef,
            implicit_sum,
            pending,
        )
    return squared_error
