"""The dense linear algebra kernels (``_kernels._linalg``) against NumPy."""

import numpy as np

from sklearn_mf._kernels._linalg import cholesky_solve_inplace


def test_cholesky_solve_matches_numpy():
    rng = np.random.RandomState(1)
    m = rng.randn(6, 6)
    a = m @ m.T + 6 * np.eye(6)
    b = rng.randn(6)
    expected = np.linalg.solve(a, b)
    cholesky_solve_inplace(a.copy(), b)
    np.testing.assert_allclose(b, expected, rtol=1e-10)
