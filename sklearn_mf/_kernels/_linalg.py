"""Small dense linear algebra used inside the per-row solves and samples."""

import numba
import numpy as np

from . import FASTMATH


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def cholesky_inplace(a):
    """Overwrite the lower triangle of the symmetric positive definite ``a`` with its
    Cholesky factor ``L`` (``a = L L'``); the upper triangle is not read.

    A pivot that rounding pushed to zero or below is floored at a tiny positive value,
    so later solves stay finite even for a numerically singular system.
    """
    n = a.shape[0]
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


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def solve_lower_transpose(a, b):
    """Solve ``L' x = b`` in place for the Cholesky factor ``L`` held in ``a``."""
    for i in range(b.shape[0] - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, b.shape[0]):
            s -= a[k, i] * b[k]
        b[i] = s / a[i, i]


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def solve_lower(a, b):
    """Solve ``L x = b`` in place for the Cholesky factor ``L`` held in ``a``."""
    for i in range(b.shape[0]):
        s = b[i]
        for k in range(i):
            s -= a[i, k] * b[k]
        b[i] = s / a[i, i]


@numba.njit(cache=True, error_model="numpy", nogil=True, fastmath=FASTMATH)
def cholesky_solve_inplace(a, b):
    """Solve ``a @ x = b`` for a symmetric positive definite ``a``; ``x`` replaces ``b``.

    Only the lower triangle of ``a`` is read; it is overwritten by the Cholesky factor.
    """
    cholesky_inplace(a)
    solve_lower(a, b)
    solve_lower_transpose(a, b)
