"""Scoring kernels: predictions and residuals for arrays of (user, item) codes."""

import numba


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def predict_codes(
    user_codes,
    item_codes,
    base,
    user_bias,
    item_bias,
    user_factors,
    item_factors,
    lower,
    upper,
    out,
):
    """Write ``base + b_u + b_i + p_u.q_i`` clipped to ``[lower, upper]`` into ``out``.

    ``base`` holds the per-row part shared by all models (global mean plus the feature
    term). A code of ``-1`` marks an unknown id: its bias and factors are left out,
    which is the documented cold-start fallback.
    """
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
