"""The implicit-feedback term (SVD++): each user's normalised sum of item vectors.

A user's implicit vector is ``z_u = s_u sum_r w_r y_{j(r)}`` over the user's
training ratings ``r`` (items ``j(r)``, sample weights ``w_r``), with
``s_u = (sum_r w_r)^(-1/2)``. With unit weights this is Koren's
``|N(u)|^(-1/2) sum_{j in N(u)} y_j``; with integer weights it equals repeated rows.

The kernels below are the pieces of a conjugate-gradient step on the item vectors
``y``: the map from ``y`` to ``z`` and its transpose (:func:`scaled_sums`), and the
gradient and curvature of the squared error with respect to ``z``
(:func:`error_gradient`). Every output row is written by one chunk only and summed in a fixed order,
so results do not depend on the number of threads.
"""

import numba

from . import FASTMATH
from ._parallel import parallel_kernel


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def scaled_sums(chunk_bounds, ratings, row_scale, other_scale, vectors, out):
    """``out[a] = row_scale[a] sum_r weight[r] other_scale[b(r)] vectors[b(r)]``.

    For each row ``a`` of one side, over its ``ratings`` (:class:`~._types.Ratings`,
    grouped by row; their targets are not read) ``r`` with rows ``b(r)`` of the
    other side; the rows are processed in the chunks ``chunk_bounds[c]:chunk_bounds[c
    + 1]`` in parallel. Over the ratings grouped by user with ``row_scale = s`` and unit
    ``other_scale`` this is ``z = S B y``; over the ratings grouped by item with unit
    ``row_scale`` and ``other_scale = s`` it is the transpose, which carries per-user
    gradients back to the item vectors ``y``.
    """
    indptr, other_index, weight = ratings.indptr, ratings.other, ratings.weight
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


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def error_gradient(chunk_bounds, ratings, rows, other, use_target, out):
    """``out[u] = sum_r w_r (v_u.q_j - t'_r) q_j``, half the gradient with respect to
    ``v_u`` of the weighted squared errors ``sum_r w_r (v_u.q_j - t'_r)^2``.

    Over the ``ratings`` (:class:`~._types.Ratings`) of each row ``u`` of one side,
    on other-side rows ``j``; ``rows`` and ``other`` (:class:`~._types.Side`) hold the
    biases ``b`` and vectors ``v`` (``q``) of the two sides. With ``use_target``,
    ``t'_r = t_r - b_u - b_j`` and ``rows.vectors`` are the rows' full vectors
    (``p_u + z_u``). Without it, ``t'_r = 0``: the result is the squared error's
    curvature applied to the direction ``rows.vectors``, ``sum_r w_r (q_j q_j')
    v_u``. Rows are processed in the chunks of ``chunk_bounds`` in parallel.
    """
    indptr, other_index = ratings.indptr, ratings.other
    target, weight = ratings.target, ratings.weight
    row_bias, row_vectors = rows.bias, rows.vectors
    other_bias, other_factors = other.bias, other.vectors
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
                if use_target:
                    dot -= target[r] - row_bias[row] - other_bias[j]
                c = weight[r] * dot
                for f in range(k):
                    out[row, f] += c * other_factors[j, f]
