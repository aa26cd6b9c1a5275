"""Small dense linear algebra used inside the per-row ALS solves."""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, fastmath=True)
def cholesky_solve_inplace(a, b):
    """Solve ``a @ x = b`` for a symmetric positive definite ``a``; ``x`` replaces ``b``.

    Only the lower triangle of ``a`` is read; it is overwritten by the Cholesky factor.
    A pivot that rounding pushed to zero or below is floored at a tiny positive value,
    so the result stays finite even for a numerically singular system.
    """
    n = b.shape[0]
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        if s <= 1e-300:
            s = 1e-300
        d = np.sqrt(s)
        a[j, j] = d
        inv = 1.0 / d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s * inv
    for i in range(n):  # forward substitution: L y = b
        s = b[i]
        for k in range(i):
            s -= a[i, k] * b[k]
        b[i] = s / a[i, i]
    for i in range(n - 1, -1, -1):  # back substitution: L^T x = y
        s = b[i]
        for k in range(i + 1, n):
            s -= a[k, i] * b[k]
        b[i] = s / a[i, i]
