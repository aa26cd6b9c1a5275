"""One epoch of stochastic gradient descent over the ratings (Funk/Koren SVD)."""

import numba
import numpy as np

from ._random import GOLDEN, splitmix64


@numba.njit(cache=True, nogil=True)
def user_blocked_order(indptr, row_order, seed, out):
    """Write a visiting order over CSR positions: the rows (users) in ``row_order``,
    each row's ratings in a random order (Fisher-Yates driven by ``seed``).

    Keeping one user's ratings together keeps that user's vector and ratings in
    cache, which makes an epoch several times faster than a fully random order over
    the ratings while the order stays random from epoch to epoch.
    """
    pos = 0
    for n in range(row_order.shape[0]):
        row = row_order[n]
        start = indptr[row]
        size = indptr[row + 1] - start
        for j in range(size):
            out[pos + j] = start + j
        state = seed ^ (np.uint64(row) * GOLDEN)
        for j in range(size - 1, 0, -1):
            state, z = splitmix64(state)
            pick = pos + np.int64(z % np.uint64(j + 1))
            out[pos + j], out[pick] = out[pick], out[pos + j]
        pos += size


@numba.njit(cache=True, nogil=True, fastmath=True)
def sgd_epoch(
    order,
    user_codes,
    item_codes,
    target,
    weight,
    features,
    learning_rate,
    alpha,
    alpha_bias,
    fit_bias,
    user_bias,
    item_bias,
    user_factors,
    item_factors,
    coef,
):
    """Visit the ratings in ``order`` and take one gradient step on each.

    The step for rating ``r`` is ``learning_rate * w_r`` times the negative half-gradient
    of ``e_r^2 + alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |coef|^2)``,
    the per-rating share of the objective, with ``e_r`` the residual of ``target`` (the
    rating minus the global mean). Biases are updated first, as in Surprise's SVD.
    """
    k = user_factors.shape[1]
    n_features = coef.shape[0]
    for n in range(order.shape[0]):
        r = order[n]
        u = user_codes[r]
        i = item_codes[r]
        step = learning_rate * weight[r]
        if step == 0.0:
            continue
        estimate = user_bias[u] + item_bias[i]
        for f in range(k):
            estimate += user_factors[u, f] * item_factors[i, f]
        for c in range(n_features):
            estimate += features[r, c] * coef[c]
        err = target[r] - estimate
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
