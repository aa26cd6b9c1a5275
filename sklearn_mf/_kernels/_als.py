"""The ALS half-step: exact ridge solves for every row of one side.

Written once; the ALS solver calls it for users (other side = items) and for items
(other side = users) with the roles swapped, and ``partial_fit`` for the rows it
folds in.
"""

import numba
import numpy as np

from . import FASTMATH
from ._linalg import cholesky_solve_inplace
from ._parallel import parallel_kernel
from ._predict import weighted_squared_error
from ._prefetch import prefetch_row

_BATCH = 4


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def normal_equations(start, end, ratings, other, offset, z, w, t, gram, rhs):
    """Accumulate one row's weighted least-squares problem; return its total weight.

    Over the ``ratings`` (:class:`~._types.Ratings`) at positions ``start:end``,
    ``gram`` (lower triangle, shape ``(dim, dim)``) receives ``sum_r w_r x_r x_r'``
    and ``rhs`` (shape ``(dim,)``) receives ``sum_r w_r (t_r - o_j) x_r``, where
    ``j`` is the rating's other-side row, ``o_j`` and ``q_j`` its bias and vector in
    ``other`` (:class:`~._types.Side`), and ``x_r`` is ``(1, q_j)`` when ``offset`` is
    1 (a bias is fitted) and ``q_j`` when it is 0 (``dim = k + offset``). ``z``, ``w``
    and ``t`` are scratch of shapes ``(_BATCH, dim)``, ``(_BATCH,)`` and
    ``(_BATCH,)``; ``z[:, 0]`` must hold ones when ``offset`` is 1.
    """
    other_index, target, weight = ratings.other, ratings.target, ratings.weight
    other_bias, other_factors = other.bias, other.vectors
    k = other_factors.shape[1]
    dim = k + offset
    gram[:, :] = 0.0
    rhs[:] = 0.0
    total_weight = 0.0
    r = start
    # Ratings are added to the Gram matrix four at a time: a rank-4 update reads
    # and writes each Gram entry once per four ratings instead of once per rating.
    while r < end:
        size = min(_BATCH, end - r)
        for s in range(_BATCH):
            if s < size:
                j = other_index[r + s]
                w[s] = weight[r + s]
                t[s] = w[s] * (target[r + s] - other_bias[j])
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
    return total_weight


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def dual_solve_row(
    start,
    end,
    ratings,
    other,
    row_alpha_bias,
    row_alpha,
    fit_bias,
    prior,
    row,
    kernel,
    rhs,
    out,
):
    """Solve row ``row``'s ridge problem through its ``n = end - start`` ratings
    instead of its ``dim`` unknowns, for rows with fewer ratings than unknowns.

    The ratings are ``ratings`` (:class:`~._types.Ratings`) at ``start:end``, their
    other-side rows' biases and vectors ``other`` (:class:`~._types.Side`). With
    ``x_r = (1, q_j)`` (or ``q_j`` unless ``fit_bias``), ``s_r = sqrt(w_r)`` and the
    row's diagonal penalty ``P`` (``row_alpha_bias``, then ``row_alpha``: the
    per-rating penalties times the row's weight), Woodbury's identity turns
    ``(X' W X + P) v = X' W t`` into ``(I + S X P^-1 X' S) a = S t``, ``v = P^-1 X' S a``:
    an ``n x n`` system, cheaper than the ``dim x dim`` one when ``n < dim``. A
    ``prior`` row ``p`` (``prior`` may have no rows) enters as ``v = p + d`` with
    targets reduced by ``q_j . p``. ``kernel`` and ``rhs`` are scratch of at least
    ``n x n`` and ``n``. The solution goes to row ``row`` of ``out``
    (:class:`~._types.Side`; its bias only with ``fit_bias``).
    """
    other_index, target, weight = ratings.other, ratings.target, ratings.weight
    other_bias, other_factors = other.bias, other.vectors
    out_bias, out_factors = out.bias, out.vectors
    k = other_factors.shape[1]
    n = end - start
    inverse_bias = 1.0 / row_alpha_bias if fit_bias else 0.0
    inverse_factor = 1.0 / row_alpha
    for a in range(n):
        ja = other_index[start + a]
        sa = np.sqrt(weight[start + a])
        residual = target[start + a] - other_bias[ja]
        if prior.shape[0]:
            for f in range(k):
                residual -= prior[row, f] * other_factors[ja, f]
        rhs[a] = sa * residual
        for b in range(a + 1):
            jb = other_index[start + b]
            dot = 0.0
            for f in range(k):
                dot += other_factors[ja, f] * other_factors[jb, f]
            sb = np.sqrt(weight[start + b])
            kernel[a, b] = sa * sb * (inverse_bias + inverse_factor * dot)
        kernel[a, a] += 1.0
    cholesky_solve_inplace(kernel[:n, :n], rhs[:n])
    bias = 0.0
    for f in range(k):
        out_factors[row, f] = prior[row, f] if prior.shape[0] else 0.0
    for a in range(n):
        ja = other_index[start + a]
        c = np.sqrt(weight[start + a]) * rhs[a]
        bias += c
        c *= inverse_factor
        for f in range(k):
            out_factors[row, f] += c * other_factors[ja, f]
    if fit_bias:
        out_bias[row] = bias * inverse_bias


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def als_half_step(chunk_bounds, ratings, other, penalty, prior, out):
    """Minimise the objective over the bias and factors of every row of one side.

    For row ``u`` with ``ratings`` (:class:`~._types.Ratings`) ``r`` on other-side
    rows ``j = ratings.other[r]``, it solves
    ``min_{b, p} sum_r w_r (t_r - o_j - b - p.q_j)^2 + W_u (alpha |p|^2 + alpha_bias b^2)``
    with ``t = ratings.target``, ``o`` and ``q`` the biases and vectors of ``other``
    (:class:`~._types.Side`), the penalties of ``penalty`` (:class:`~._types.Penalty`;
    no bias unless ``penalty.fit_bias``) and ``W_u = sum_r w_r``. The solutions are
    written to ``out`` (:class:`~._types.Side`).
    When ``prior`` has rows, the penalty is ``alpha |p - prior[u]|^2`` instead: the
    full vector ``p_u + z_u`` of the implicit-feedback model is solved for this way,
    with ``z_u`` held fixed. A row with fewer ratings than unknowns is solved
    through its ratings (:func:`dual_solve_row`) when the penalty is positive
    definite. Rows are processed in the chunks
    ``chunk_bounds[c]:chunk_bounds[c + 1]`` in parallel; every row is written by one
    chunk only, so the result does not depend on the number of threads. Rows with no
    weight get zero bias and factors, which makes their predictions equal to the
    unknown-id fallback.
    """
    indptr, weight = ratings.indptr, ratings.weight
    alpha, alpha_bias, fit_bias = penalty
    out_bias, out_factors = out.bias, out.vectors
    k = other.vectors.shape[1]
    offset = 1 if fit_bias else 0
    dim = k + offset
    n_chunks = chunk_bounds.shape[0] - 1
    # Per-chunk scratch is allocated up front and indexed by chunk: arrays allocated
    # inside a prange body were seen shared between threads (a race) in numba 0.68.
    gram_scratch = np.empty((n_chunks, dim, dim))
    vector_scratch = np.ones((n_chunks, _BATCH + 1, dim))  # column 0: bias input
    batch_scratch = np.zeros((n_chunks, 2, _BATCH))
    for chunk in numba.prange(n_chunks):
        gram = gram_scratch[chunk]
        rhs = vector_scratch[chunk, _BATCH]
        z = vector_scratch[chunk, :_BATCH]
        w = batch_scratch[chunk, 0]
        t = batch_scratch[chunk, 1]
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            start, end = indptr[row], indptr[row + 1]
            if end - start < dim and (alpha_bias > 0.0 or not fit_bias):
                total_weight = 0.0
                for r in range(start, end):
                    total_weight += weight[r]
                if total_weight > 0.0:
                    dual_solve_row(
                        start,
                        end,
                        ratings,
                        other,
                        total_weight * alpha_bias,
                        total_weight * alpha,
                        fit_bias,
                        prior,
                        row,
                        gram,
                        rhs,
                        out,
                    )
                    continue
            total_weight = normal_equations(
                indptr[row], indptr[row + 1], ratings, other, offset, z, w, t, gram, rhs
            )
            if total_weight <= 0.0:
                if fit_bias:
                    out_bias[row] = 0.0
                out_factors[row, :] = 0.0
                continue
            if fit_bias:
                gram[0, 0] += total_weight * alpha_bias
            for a in range(offset, dim):
                gram[a, a] += total_weight * alpha
            if prior.shape[0]:
                for f in range(k):
                    rhs[offset + f] += total_weight * alpha * prior[row, f]
            cholesky_solve_inplace(gram, rhs)
            if fit_bias:
                out_bias[row] = rhs[0]
            for f in range(k):
                out_factors[row, f] = rhs[offset + f]


# A row's ratings whose other-side vectors fit in this many bytes are copied into a
# contiguous buffer before its CG steps (see als_cg_half_step).
_GATHER_BYTES = 1 << 20


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def weighted_pass(
    factors,
    index,
    target,
    bias,
    weight,
    x,
    x_bias,
    residual,
    out,
    prefetch_from,
    prefetch_index,
):
    """One pass over a row's ratings: add ``sum_t c_t q_t`` to ``out`` and return
    ``sum_t c_t``.

    Rating ``t`` has vector ``q_t = factors[index[t]]`` and estimate
    ``e_t = x_bias + q_t.x``; ``c_t`` is ``w_t (target[t] - bias[index[t]] - e_t)``
    with ``residual`` (minus half the gradient of the row's weighted squared error:
    the data part of ``b - A x``) and ``w_t e_t`` without (the data part of a
    product with the row's Gram matrix). ``weight`` holds the ``w_t``.

    Ratings go four (``_BATCH``) at a time, as in :func:`normal_equations`: the four
    dot products are independent sums, and ``out`` is read and written once per four
    ratings.

    Unless ``prefetch_from`` is None, batch ``b`` also hints the CPU to fetch the
    vector ``prefetch_from[prefetch_index[b]]`` (see :func:`als_cg_half_step`).
    """
    k = factors.shape[1]
    n = index.shape[0]
    last = n - 1
    total = 0.0
    for t in range(0, n, _BATCH):
        if prefetch_from is not None:  # None compiles the hint out
            if t // _BATCH < prefetch_index.shape[0]:
                prefetch_row(prefetch_from, prefetch_index[t // _BATCH])
        # A short last batch repeats the row's last rating with zero weight (a
        # selection, not a branch on the batch's size: quicker to compile).
        t1, t2, t3 = min(t + 1, last), min(t + 2, last), min(t + 3, last)
        j0, j1, j2, j3 = index[t], index[t1], index[t2], index[t3]
        q0, q1, q2, q3 = factors[j0], factors[j1], factors[j2], factors[j3]
        e0 = e1 = e2 = e3 = x_bias
        for f in range(k):
            e0 += q0[f] * x[f]
            e1 += q1[f] * x[f]
            e2 += q2[f] * x[f]
            e3 += q3[f] * x[f]
        if residual:
            e0 = target[t] - bias[j0] - e0
            e1 = target[t1] - bias[j1] - e1
            e2 = target[t2] - bias[j2] - e2
            e3 = target[t3] - bias[j3] - e3
        c0 = weight[t] * e0
        c1 = weight[t1] * e1 * (t + 1 <= last)
        c2 = weight[t2] * e2 * (t + 2 <= last)
        c3 = weight[t3] * e3 * (t + 3 <= last)
        total += c0 + c1 + c2 + c3
        for f in range(k):
            out[f] += c0 * q0[f] + c1 * q1[f] + c2 * q2[f] + c3 * q3[f]
    return total


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def cg_row(
    factors,
    index,
    target,
    bias,
    weight,
    row_alpha,
    row_alpha_bias,
    fit_bias,
    prior_row,
    n_steps,
    x,
    x_bias,
    res,
    p,
    ap,
    prefetch_from,
    prefetch_index,
):
    """``n_steps`` CG steps on one row's ridge problem from ``(x_bias, x)``; returns
    the new bias and leaves the new vector in ``x``.

    Rating ``t`` of the row has vector ``factors[index[t]]``, target ``target[t] -
    bias[index[t]]`` and weight ``weight[t]``; the penalty is ``row_alpha |x -
    prior_row|^2 + row_alpha_bias x_bias^2`` (the per-rating penalties times the row's
    weight; ``prior_row`` may have no entries: no prior), and the bias stays zero
    unless ``fit_bias``. ``n_steps`` CG steps are taken at most. ``res``, ``p`` and
    ``ap`` are scratch of length ``k``. The passes share out the prefetch hints for
    the vectors ``prefetch_from[prefetch_index]``, one per four ratings
    (``prefetch_from`` may be None: no hints).
    """
    k = factors.shape[1]
    per_pass = (index.shape[0] + _BATCH - 1) // _BATCH
    res_bias = p_bias = rr = 0.0  # set by pass 0; numba needs them typed before
    # Pass 0 takes the residual of the normal equations at the start, b - A x, into
    # ``res``; pass s > 0 takes step s's product A p into ``ap``. One call site:
    # LLVM then inlines (and compiles) the pass once, not twice.
    for s in range(n_steps + 1):
        if s == 0:
            vector, vector_bias, into = x, x_bias, res
            into_bias = -row_alpha_bias * x_bias
            for f in range(k):
                res[f] = -row_alpha * x[f]
            if prior_row.shape[0]:
                for f in range(k):
                    res[f] += row_alpha * prior_row[f]
        else:
            if rr <= 1e-300:
                break
            vector, vector_bias, into = p, p_bias, ap
            into_bias = row_alpha_bias * p_bias
            for f in range(k):
                ap[f] = row_alpha * p[f]
        if prefetch_from is None:  # compiles the hints out
            prefetch_share = None
        else:
            prefetch_share = prefetch_index[s * per_pass : (s + 1) * per_pass]
        into_bias += weighted_pass(
            factors,
            index,
            target,
            bias,
            weight,
            vector,
            vector_bias,
            s == 0,
            into,
            prefetch_from,
            prefetch_share,
        )
        if not fit_bias:
            into_bias = 0.0
        if s == 0:
            res_bias = p_bias = into_bias
            rr = res_bias * res_bias
            for f in range(k):
                p[f] = res[f]
                rr += res[f] * res[f]
            continue
        ap_bias = into_bias
        curvature = p_bias * ap_bias
        for f in range(k):
            curvature += p[f] * ap[f]
        if not curvature > 0.0:  # underflowed (extreme weights): no further step
            break
        step = rr / curvature
        x_bias += step * p_bias
        res_bias -= step * ap_bias
        rr_next = res_bias * res_bias
        for f in range(k):
            x[f] += step * p[f]
            res[f] -= step * ap[f]
            rr_next += res[f] * res[f]
        beta = rr_next / rr
        p_bias = res_bias + beta * p_bias
        for f in range(k):
            p[f] = res[f] + beta * p[f]
        rr = rr_next
    return x_bias


@parallel_kernel(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def als_cg_half_step(
    chunk_bounds,
    ratings,
    other,
    penalty,
    prior,
    n_steps,
    out,
    out_squared_error,
    prefetch_from,
):
    """Approximate :func:`als_half_step` by ``n_steps`` conjugate-gradient steps per row.

    Each row's ridge problem is the same as in :func:`als_half_step` (same
    ``chunk_bounds``, ``ratings``, ``other``, ``penalty`` and ``prior``); CG starts
    from the row's current bias and vector in ``out`` and never builds the Gram
    matrix: a step costs one pass over the row's ratings (plus one for the starting
    residual), ``O(n_u k)`` instead of ``O(n_u k^2 + k^3)``. Every CG step
    lowers the row's quadratic, so the training loss still never increases, and
    ``n_steps >= k + 1`` solves exactly (up to rounding). The bias is kept apart from
    the factor vector so that the inner loops over factors vectorise.

    A row's other-side vectors and biases are first copied into a contiguous buffer
    (when they fit in ``_GATHER_BYTES``) and its passes read that. Once the factor
    matrices outgrow the caches, the copy's independent loads overlap their memory
    latency, which the dependent arithmetic of a CG pass cannot (benchmarks/README.md,
    "Figures behind code choices"). The arithmetic is unchanged.
    ``other.vectors`` may be float32 (the buffer then is too): the arithmetic stays
    float64, and a gather from memory moves half the bytes.

    ``prefetch_from`` is None, or ``other.vectors`` when the matrix is too large for
    the caches: then each row's CG passes also hint the CPU to fetch the next row's
    other-side vectors, a vector per four ratings, so that they arrive while the
    arithmetic goes on, and the next row's gather finds them in cache. A gather's
    loads overlap each other's latency but not the passes' arithmetic; hinting the
    whole next row at once, during the gather, was no faster. None compiles the hints
    out: on small data they cost time and fetch nothing (benchmarks/README.md,
    "Figures behind code choices").

    When ``out_squared_error`` has rows, it receives each row's weighted squared
    error at its new bias and vector, scored from the buffer while it is in cache
    (a separate pass would read the other side's vectors from memory again).
    """
    indptr, other_index = ratings.indptr, ratings.other
    target, weight = ratings.target, ratings.weight
    other_bias, other_factors = other.bias, other.vectors
    alpha, alpha_bias, fit_bias = penalty
    out_bias, out_factors = out.bias, out.vectors
    k = other_factors.shape[1]
    n_chunks = chunk_bounds.shape[0] - 1
    longest = 0
    for row in range(indptr.shape[0] - 1):
        longest = max(longest, indptr[row + 1] - indptr[row])
    n_gather = min(longest, max(_GATHER_BYTES // (8 * max(k, 1)), 1))
    # Per-chunk scratch, see als_half_step.
    scratch = np.empty((n_chunks, 4, k))
    gathered = np.empty((n_chunks, n_gather, k), dtype=other_factors.dtype)
    gathered_bias = np.empty((n_chunks, n_gather))
    in_order = np.arange(n_gather).astype(other_index.dtype)
    no_prior = np.empty(0)
    for chunk in numba.prange(n_chunks):
        x = scratch[chunk, 0]
        last_row = chunk_bounds[chunk + 1] - 1
        for row in range(chunk_bounds[chunk], chunk_bounds[chunk + 1]):
            start = indptr[row]
            end = indptr[row + 1]
            total_weight = 0.0
            for r in range(start, end):
                total_weight += weight[r]
            if total_weight <= 0.0:
                out_bias[row] = 0.0
                out_factors[row, :] = 0.0
                if out_squared_error.shape[0]:
                    out_squared_error[row] = 0.0
                continue
            for f in range(k):
                x[f] = out_factors[row, f]
            n = end - start
            if prefetch_from is None:  # compiles the hints out
                prefetch_index = None
            else:  # the next row's codes
                prefetch_index = other_index[
                    end : indptr[row + 2] if row < last_row else end
                ]
            if n <= n_gather:
                vectors = gathered[chunk]
                biases = gathered_bias[chunk]
                index = in_order[:n]
                for t in range(n):
                    j = other_index[start + t]
                    biases[t] = other_bias[j]
                    for f in range(k):
                        vectors[t, f] = other_factors[j, f]
            else:
                vectors = other_factors
                biases = other_bias
                index = other_index[start:end]
            x_bias = cg_row(
                vectors,
                index,
                target[start:end],
                biases,
                weight[start:end],
                total_weight * alpha,
                total_weight * alpha_bias,
                fit_bias,
                prior[row] if prior.shape[0] else no_prior,
                n_steps,
                x,
                out_bias[row] if fit_bias else 0.0,
                scratch[chunk, 1],
                scratch[chunk, 2],
                scratch[chunk, 3],
                prefetch_from,
                prefetch_index,
            )
            out_bias[row] = x_bias
            for f in range(k):
                out_factors[row, f] = x[f]
            if out_squared_error.shape[0]:
                out_squared_error[row] = weighted_squared_error(
                    vectors,
                    index,
                    target[start:end],
                    biases,
                    weight[start:end],
                    x_bias,
                    x,
                )
