"""Scoring kernels: predictions and residuals for arrays of (user, item) codes."""

import numba

from . import FASTMATH
from ._parallel import parallel_kernel


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def predict_codes(user_codes, item_codes, base, users, items, lower, upper, out):
    """Write ``base + b_u + b_i + p_u.q_i`` clipped to ``[lower, upper]`` into ``out``.

    Row ``n`` is user ``user_codes[n]`` and item ``item_codes[n]`` (int32 codes),
    whose biases and vectors are in ``users`` and ``items``
    (:class:`~._types.Side`). ``base`` holds the per-row part shared by all models
    (global mean plus the feature term). A code of ``-1`` marks an unknown id: its
    bias and vector are left out, which is the documented cold-start fallback.
    """
    user_bias, user_factors = users.bias, users.vectors
    item_bias, item_factors = items.bias, items.vectors
    k = user_factors.shape[1]
    for n in numba.prange(user_codes.shape[0]):
        u = user_codes[n]
        i = item_codes[n]
        value = base[n]
        if u >= 0:
            value += user_bias[u]
        if i >= 0:
            value += item_bias[i]
        if u >= 0 and i >= 0:
            dot = 0.0
            for f in range(k):
                dot += user_factors[u, f] * item_factors[i, f]
            value += dot
        out[n] = min(max(value, lower), upper)


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def weighted_squared_error(vectors, index, target, biases, weight, bias, vector):
    """``sum_t w_t (t_t - bias - biases[index[t]] - vector.vectors[index[t]])^2`` over
    the ratings ``t`` of one row: ``index`` their other-side rows, ``target`` and
    ``weight`` their targets and weights, ``biases`` and ``vectors`` the other
    side's, ``bias`` and ``vector`` the row's own."""
    k = vector.shape[0]
    total = 0.0
    for t in range(index.shape[0]):
        j = index[t]
        dot = 0.0
        for f in range(k):
            dot += vector[f] * vectors[j, f]
        err = target[t] - bias - biases[j] - dot
        total += weight[t] * err * err
    return total


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def row_squared_errors(ratings, rows, other, out):
    """Write ``sum_r w_r (t_r - b_row - b_j - p_row.q_j)^2`` of each row into ``out``.

    ``ratings`` (:class:`~._types.Ratings`) are grouped by row; ``rows`` and
    ``other`` (:class:`~._types.Side`) hold the rows' and the other side's biases
    and vectors.

    The ratings come grouped by row (CSR), so a row's vector stays in cache while its
    ratings are scored. Summing ``out`` afterwards gives a total that does not depend
    on the number of threads.
    """
    indptr = ratings.indptr
    for row in numba.prange(indptr.shape[0] - 1):
        start = indptr[row]
        end = indptr[row + 1]
        out[row] = weighted_squared_error(
            other.vectors,
            ratings.other[start:end],
            ratings.target[start:end],
            other.bias,
            ratings.weight[start:end],
            rows.bias[row],
            rows.vectors[row],
        )
