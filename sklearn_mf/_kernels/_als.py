"""The ALS half-step: exact ridge solves for every row of one side.

Written once; the estimator calls it for users (other side = items) and for items
(other side = users) with the roles swapped.
"""

import numba
import numpy as np

from ._linalg import cholesky_solve_inplace

_BATCH = 4


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
        # Ratings are added to the Gram matrix four at a time: a rank-4 update reads
        # and writes each Gram entry once per four ratings, 1.5x faster than rank-1.
        z = np.zeros((_BATCH, dim))
        w = np.zeros(_BATCH)
        t = np.zeros(_BATCH)
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            gram[:, :] = 0.0
            rhs[:] = 0.0
            total_weight = 0.0
            r = indptr[row]
            end = indptr[row + 1]
            while r < end:
                size = min(_BATCH, end - r)
                for s in range(_BATCH):
                    if s < size:
                        j = other_index[r + s]
                        w[s] = weight[r + s]
                        t[s] = w[s] * (target[r + s] - other_bias[j])
                        z[s, 0] = 1.0
                        for f in range(k):
                            z[s, offset + f] = other_factors[j, f]
                    else:  # pad the last batch with ratings of zero weight
                        w[s] = 0.0
                        t[s] = 0.0
                    total_weight += w[s]
                z0, z1, z2, z3 = z[0], z[1], z[2], z[3]
                for a in range(dim):
                    a0 = w[0] * z0[a]
                    a1 = w[1] * z1[a]
                    a2 = w[2] * z2[a]
                    a3 = w[3] * z3[a]
                    rhs[a] += t[0] * z0[a] + t[1] * z1[a] + t[2] * z2[a] + t[3] * z3[a]
                    g = gram[a]
                    for b in range(a + 1):
                        g[b] += a0 * z0[b] + a1 * z1[b] + a2 * z2[b] + a3 * z3[b]
                r += size
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
