"""The implicit-feedback term (SVD++): each user's normalised sum of item vectors.

A user's implicit vector is ``z_u = s_u sum_r w_r y_{j(r)}`` over the user's
training ratings ``r`` (items ``j(r)``, sample weights ``w_r``), with
``s_u = (sum_r w_r)^(-1/2)``. With unit weights this is Koren's
``|N(u)|^(-1/2) sum_{j in N(u)} y_j``; with integer weights it equals repeated rows.

The kernels below are the pieces of a conjugate-gradient step on the item vectors
``y``: the map from ``y`` to ``z`` and its transpose (:func:`scaled_sums`), the
residual moments that make the gradient, and the curvature of the squared error along
a direction. Every output row is written by one chunk only and summed in a fixed order,
so results do not depend on the number of threads.
"""

import numba


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def scaled_sums(
    chunk_bounds, indptr, other_index, weight, row_scale, other_scale, vectors, out
):
    """``out[a] = row_scale[a] sum_r weight[r] other_scale[b(r)] vectors[b(r)]``.

    For each row ``a`` of one side, over its ratings ``r`` with rows ``b(r)`` of the
    other side. Over the ratings grouped by user with ``row_scale = s`` and unit
    ``other_scale`` this is ``z = S B y``; over the ratings grouped by item with unit
    ``row_scale`` and ``other_scale = s`` it is the transpose, which carries per-user
    gradients back to the item vectors ``y``.
    """
    k = vectors.shape[1]
    for chunk in numba.prange(chunk_bounds.shape[0] - 1):
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            for f in range(k):
                out[row, f] = 0.0
            for r in range(indptr[row], indptr[row + 1]):
                b = other_index[r]
                w = weight[r] * other_scale[b]
                for f in range(k):
                    out[row, f] += w * vectors[b, f]
            for f in range(k):
                out[row, f] *= row_scale[row]


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def residual_moments(
    chunk_bounds,
    indptr,
    other_index,
    target,
    weight,
    row_bias,
    other_bias,
    row_vectors,
    other_factors,
    out,
):
    """``out[u] = sum_r w_r e_r q_j`` with ``e_r = t_r - b_u - b_j - v_u.q_j``.

    ``row_vectors`` are the users' full vectors ``p_u + z_u``; the result is minus
    half the gradient of the squared error with respect to ``z_u``.
    """
    k = other_factors.shape[1]
    for chunk in numba.prange(chunk_bounds.shape[0] - 1):
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            for f in range(k):
                out[row, f] = 0.0
            for r in range(indptr[row], indptr[row + 1]):
                j = other_index[r]
                dot = 0.0
                for f in range(k):
                    dot += row_vectors[row, f] * other_factors[j, f]
                c = weight[r] * (target[r] - row_bias[row] - other_bias[j] - dot)
                for f in range(k):
                    out[row, f] += c * other_factors[j, f]


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def curvature_moments(
    chunk_bounds, indptr, other_index, weight, direction, other_factors, out
):
    """``out[u] = sum_r w_r (q_j . d_u) q_j``: the squared error's curvature along
    ``d_u`` (a direction for ``z_u``), applied to it."""
    k = other_factors.shape[1]
    for chunk in numba.prange(chunk_bounds.shape[0] - 1):
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            for f in range(k):
                out[row, f] = 0.0
            for r in range(indptr[row], indptr[row + 1]):
                j = other_index[r]
                dot = 0.0
                for f in range(k):
                    dot += direction[row, f] * other_factors[j, f]
                c = weight[r] * dot
                for f in range(k):
                    out[row, f] += c * other_factors[j, f]
