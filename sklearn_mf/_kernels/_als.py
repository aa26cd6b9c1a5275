"""The ALS half-step: exact ridge solves for every row of one side.

Written once; the estimator calls it for users (other side = items) and for items
(other side = users) with the roles swapped.
"""

import numba
import numpy as np

from ._linalg import cholesky_solve_inplace


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def als_half_step(
    chunk_bounds,
    indptr,
    other_index,
    target,
    weight,
    other_bias,
    other_factors,
    alpha,
    alpha_bias,
    fit_bias,
    out_bias,
    out_factors,
):
    """Minimise the objective over the bias and factors of every row of one side.

    For row ``u`` with ratings ``r`` on other-side rows ``j = other_index[r]``, it solves
    ``min_{b, p} sum_r w_r (t_r - o_j - b - p.q_j)^2 + W_u (alpha |p|^2 + alpha_bias b^2)``
    with ``t = target``, ``o = other_bias``, ``q = other_factors`` and ``W_u = sum_r w_r``.
    Rows are processed in the chunks ``chunk_bounds[c]:chunk_bounds[c + 1]`` in
    parallel; every row is written by one chunk only, so the result does not depend on
    the number of threads. Rows with no weight get zero bias and factors, which makes
    their predictions equal to the unknown-id fallback.
    """
    k = other_factors.shape[1]
    offset = 1 if fit_bias else 0
    dim = k + offset
    for chunk in numba.prange(chunk_bounds.shape[0] - 1):
        gram = np.empty((dim, dim))
        rhs = np.empty(dim)
        z = np.empty(dim)
        z[0] = 1.0
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            gram[:, :] = 0.0
            rhs[:] = 0.0
            total_weight = 0.0
            for r in range(indptr[row], indptr[row + 1]):
                j = other_index[r]
                w = weight[r]
                total_weight += w
                for f in range(k):
                    z[offset + f] = other_factors[j, f]
                t = w * (target[r] - other_bias[j])
                for a in range(dim):
                    wa = w * z[a]
                    rhs[a] += t * z[a]
                    for b in range(a + 1):
                        gram[a, b] += wa * z[b]
            if total_weight <= 0.0:
                if fit_bias:
                    out_bias[row] = 0.0
                out_factors[row, :] = 0.0
                continue
            if fit_bias:
                gram[0, 0] += total_weight * alpha_bias
            for a in range(offset, dim):
                gram[a, a] += total_weight * alpha
            cholesky_solve_inplace(gram, rhs)
            if fit_bias:
                out_bias[row] = rhs[0]
            for f in range(k):
                out_factors[row, f] = rhs[offset + f]
