"""The Gibbs sweep's kernels: conditional draws of rows and of implicit vectors.

Every random draw comes from a generator seeded by its row's id and the sweep's seed
(:mod:`._random`), never from shared state, so a sweep gives the same result for any
number of threads, and a row's draws do not depend on which other rows the data holds.
"""

import numba
import numpy as np

from . import FASTMATH
from ._als import _BATCH, normal_equations
from ._linalg import (
    cholesky_inplace,
    cholesky_solve_inplace,
    solve_lower,
    solve_lower_transpose,
)
from ._parallel import parallel_kernel
from ._random import fill_normal, seeded_state


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def dual_draw_row(
    start,
    end,
    ratings,
    other,
    noise_precision,
    prior_mean,
    prior_precision,
    state,
    kernel,
    scratch,
    draw,
    deviation,
):
    """Draw one row's bias and vector from their conditional through its ``n = end -
    start`` ratings instead of its ``dim`` unknowns, for rows with fewer ratings than
    unknowns: ``O(n^2 dim + n^3)`` instead of ``O(dim^3)``.

    The conditional is that of :func:`gibbs_half_step`, written as ``x = m + y`` with
    ``m = prior_mean`` (length ``dim``: the bias's prior mean, then the factors'),
    ``y ~ N(P^-1 Phi' a, P^-1)``, ``P = Phi' Phi + D``, ``D = diag(prior_precision)``,
    ``Phi``'s rows ``sqrt(tau w_r) x_r`` and ``a_r = sqrt(tau w_r) (t_r - o_j - x_r.m)``
    (``x_r = (1, q_j)``, ``tau = noise_precision``). The exact sampler of Bhattacharya,
    Chakraborty and Mallick ("Fast sampling with Gaussian scale-mixture priors in
    high-dimensional regression", Biometrika 103(4), 2016) draws it with one
    ``n x n`` system, ``K = Phi D^-1 Phi' + I``: ``u ~ N(0, D^-1)``, ``d ~ N(0, I_n)``,
    ``y = D^-1 Phi' K^-1 a + (u - D^-1 Phi' K^-1 (Phi u + d))``, whose first term is
    the conditional mean and the second the deviation from it. The normal draws
    come from the generator ``state``. ``kernel`` (at least ``n x n``) and
    ``scratch`` (shape at least ``(3, n)``) are scratch; the draw goes to ``draw``
    and its deviation from the conditional mean to ``deviation`` (length ``dim``).
    """
    other_index, target, weight = ratings.other, ratings.target, ratings.weight
    other_bias, other_factors = other.bias, other.vectors
    dim = prior_mean.shape[0]
    n = end - start
    # u ~ N(0, D^-1) in `deviation`, then d ~ N(0, I_n) in scratch[2].
    state = fill_normal(state, 1.0, deviation)
    for a in range(dim):
        deviation[a] /= np.sqrt(prior_precision[a])
    fill_normal(state, 1.0, scratch[2, :n])
    mean_rhs = scratch[0]
    noise_rhs = scratch[1]
    for a in range(n):
        ja = other_index[start + a]
        sa = np.sqrt(noise_precision * weight[start + a])
        # a_r, and Phi u + d, with x_r = (1, q_j).
        fitted_mean = prior_mean[0]
        fitted_noise = deviation[0]
        for f in range(dim - 1):
            fitted_mean += other_factors[ja, f] * prior_mean[f + 1]
            fitted_noise += other_factors[ja, f] * deviation[f + 1]
        mean_rhs[a] = sa * (target[start + a] - other_bias[ja] - fitted_mean)
        noise_rhs[a] = -(sa * fitted_noise + scratch[2, a])
        for b in range(a + 1):
            jb = other_index[start + b]
            dot = 1.0 / prior_precision[0]
            for f in range(dim - 1):
                dot += (
                    other_factors[ja, f] * other_factors[jb, f] / prior_precision[f + 1]
                )
            sb = np.sqrt(noise_precision * weight[start + b])
            kernel[a, b] = sa * sb * dot
        kernel[a, a] += 1.0
    cholesky_inplace(kernel[:n, :n])
    for rhs in (mean_rhs[:n], noise_rhs[:n]):
        solve_lower(kernel[:n, :n], rhs)
        solve_lower_transpose(kernel[:n, :n], rhs)
    # Both parts go back through D^-1 Phi'.
    for a in range(dim):
        draw[a] = 0.0
    for a in range(n):
        ja = other_index[start + a]
        sa = np.sqrt(noise_precision * weight[start + a])
        draw[0] += sa * mean_rhs[a]
        deviation[0] += sa * noise_rhs[a] / prior_precision[0]
        for f in range(dim - 1):
            draw[f + 1] += sa * mean_rhs[a] * other_factors[ja, f]
            deviation[f + 1] += (
                sa * noise_rhs[a] * other_factors[ja, f] / prior_precision[f + 1]
            )
    for a in range(dim):
        draw[a] = prior_mean[a] + draw[a] / prior_precision[a] + deviation[a]


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def gibbs_half_step(
    chunk_bounds,
    ratings,
    other,
    noise_precision,
    bias_prior,
    factor_prior,
    prior,
    row_seeds,
    seed,
    out,
    out_deviation,
):
    """Draw the bias and vector of every row of one side from their conditional.

    Row ``u`` with ``ratings`` (:class:`~._types.Ratings`) ``r`` on other-side rows
    ``j = ratings.other[r]`` has ``t_r - o_j = b_u + v_u.q_j + noise`` with noise
    precision ``tau w_r`` (``tau = noise_precision``, ``t = ratings.target``, ``o``
    and ``q`` the biases and vectors of ``other``, a :class:`~._types.Side`), the
    prior ``b_u ~ N(bias_prior.mean, 1 / bias_prior.precision)`` (scalars) and, per
    factor ``f``, ``v_uf ~ N(factor_prior.mean[f] + prior[u, f], 1 /
    factor_prior.precision[f])`` (``prior`` has no rows without an implicit term).
    Row ``u``'s noise is drawn from the generator seeded by ``row_seeds[u]`` and the
    sweep's ``seed``; the draws go to ``out`` (:class:`~._types.Side`). Rows are
    processed in the chunks ``chunk_bounds[c]:chunk_bounds[c + 1]`` in parallel.
    The conditional is Gaussian with precision ``tau A``,
    ``A = sum_r w_r x_r x_r' + D / tau`` for ``x_r = (1, q_j)`` and the prior
    precisions ``D``: the draw is its mean plus ``L^-T e / sqrt(tau)`` with
    ``A = L L'`` and standard normal ``e``. ``out_deviation[u]`` receives the draw's
    deviation from its conditional mean, ``(b_u, v_u)`` minus ``A^-1 rhs``: its
    square is an unbiased estimate of the conditional variances, which costs
    nothing extra. A row with fewer ratings than unknowns is drawn through its
    ratings (:func:`dual_draw_row`, the same conditional at a cost linear in ``k``).
    Rows without weight get zeros, so they predict like unknown ids.
    """
    indptr, weight = ratings.indptr, ratings.weight
    bias_mean, bias_precision = bias_prior
    factor_mean, factor_precision = factor_prior
    out_bias, out_vectors = out.bias, out.vectors
    k = other.vectors.shape[1]
    dim = k + 1
    n_chunks = chunk_bounds.shape[0] - 1
    scale = 1.0 / np.sqrt(noise_precision)
    precisions = np.empty(dim)
    precisions[0] = bias_precision
    precisions[1:] = factor_precision
    # Scratch up front, indexed by chunk (see als_half_step).
    gram_scratch = np.empty((n_chunks, dim, dim))
    vector_scratch = np.ones((n_chunks, _BATCH + 6, dim))  # column 0: bias input
    batch_scratch = np.zeros((n_chunks, 2, _BATCH))
    for chunk in numba.prange(n_chunks):
        gram = gram_scratch[chunk]
        rhs = vector_scratch[chunk, _BATCH]
        noise = vector_scratch[chunk, _BATCH + 1]
        means = vector_scratch[chunk, _BATCH + 2]
        dual_scratch = vector_scratch[chunk, _BATCH + 3 :]
        z = vector_scratch[chunk, :_BATCH]
        w = batch_scratch[chunk, 0]
        t = batch_scratch[chunk, 1]
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            start, end = indptr[row], indptr[row + 1]
            if end - start < dim:
                total_weight = 0.0
                for r in range(start, end):
                    total_weight += weight[r]
                if total_weight > 0.0:
                    means[0] = bias_mean
                    for f in range(k):
                        means[f + 1] = factor_mean[f]
                        if prior.shape[0]:
                            means[f + 1] += prior[row, f]
                    dual_draw_row(
                        start,
                        end,
                        ratings,
                        other,
                        noise_precision,
                        means,
                        precisions,
                        seeded_state(row_seeds[row], seed),
                        gram,
                        dual_scratch,
                        noise,
                        out_deviation[row],
                    )
                    out_bias[row] = noise[0]
                    for f in range(k):
                        out_vectors[row, f] = noise[f + 1]
                    continue
            total_weight = normal_equations(
                start, end, ratings, other, 1, z, w, t, gram, rhs
            )
            if total_weight <= 0.0:
                out_bias[row] = 0.0
                out_vectors[row, :] = 0.0
                out_deviation[row, :] = 0.0
                continue
            gram[0, 0] += bias_precision / noise_precision
            rhs[0] += bias_precision * bias_mean / noise_precision
            for f in range(k):
                d = factor_precision[f] / noise_precision
                gram[f + 1, f + 1] += d
                mean = (
                    factor_mean[f] + prior[row, f] if prior.shape[0] else factor_mean[f]
                )
                rhs[f + 1] += d * mean
            cholesky_solve_inplace(gram, rhs)
            fill_normal(seeded_state(row_seeds[row], seed), scale, noise)
            solve_lower_transpose(gram, noise)
            out_deviation[row, :] = noise
            out_bias[row] = rhs[0] + noise[0]
            for f in range(k):
                out_vectors[row, f] = rhs[f + 1] + noise[f + 1]


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def _next_rater(r, end, other_index, weight, other_scale):
    """The rater ``u = other_index[r]`` at position ``r`` of a row that ends at
    ``end``, its coefficient ``c = s_u sum_r w_r`` (``s_u = other_scale[u]``, ``w =
    weight``) over its ratings there (adjacent, as rows are sorted) and the next
    position."""
    u = other_index[r]
    c = 0.0
    while r < end and other_index[r] == u:
        c += weight[r]
        r += 1
    return u, c * other_scale[u], r


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def gibbs_implicit(
    ratings,
    other_scale,
    implicit_prior,
    link_precision,
    row_seeds,
    seed,
    residual,
    implicit,
):
    """Draw every implicit vector, one row after the other, given the full vectors.

    Written for the users' term: the rows are items ``j`` with implicit vectors
    ``y_j = implicit[j]`` and the prior ``N(implicit_prior.mean[f], 1 /
    implicit_prior.precision[f])`` per factor; their ``ratings``
    (:class:`~._types.Ratings`, targets not read) are on users ``u =
    ratings.other[r]`` (sorted within each row, so a user's repeated ratings are
    adjacent) with ``s_u = other_scale[u]``. Row ``j``'s noise is drawn from the
    generator seeded by ``row_seeds[j]`` and the sweep's ``seed``.
    User ``u``'s full vector ``v_u`` is held fixed, so ``p_u = v_u - z_u(y)`` and
    ``residual[u] = p_u - m`` (``m`` the factors' prior mean), whose prior precision
    per factor is ``link_precision``, is what ties the ``y`` together: with ``c_uj =
    s_u sum_r w_r`` over the user's ratings of ``j``, each ``y_jf`` has the
    conditional precision ``implicit_prior.precision[f] + link_precision[f] sum_u
    c_uj^2``. ``residual`` is
    updated after each draw, so the sweep is a valid Gibbs scan; it is sequential
    because rows share users. Rows without weight get zeros.
    """
    indptr, other_index, weight = ratings.indptr, ratings.other, ratings.weight
    mean, precision = implicit_prior
    k = implicit.shape[1]
    accumulated = np.empty(k)
    noise = np.empty(k)
    for row in range(indptr.shape[0] - 1):
        end = indptr[row + 1]
        link_weight = 0.0
        accumulated[:] = 0.0
        r = indptr[row]
        while r < end:
            u, c, r = _next_rater(r, end, other_index, weight, other_scale)
            link_weight += c * c
            for f in range(k):
                # The residual without this row's own contribution.
                accumulated[f] += c * (residual[u, f] + c * implicit[row, f])
        if link_weight <= 0.0:
            implicit[row, :] = 0.0
            continue
        fill_normal(seeded_state(row_seeds[row], seed), 1.0, noise)
        for f in range(k):
            total = precision[f] + link_precision[f] * link_weight
            draw = (precision[f] * mean[f] + link_precision[f] * accumulated[f]) / total
            draw += noise[f] / np.sqrt(total)
            noise[f] = draw - implicit[row, f]  # now the change of y_jf
            implicit[row, f] = draw
        r = indptr[row]
        while r < end:
            u, c, r = _next_rater(r, end, other_index, weight, other_scale)
            for f in range(k):
                residual[u, f] -= c * noise[f]
