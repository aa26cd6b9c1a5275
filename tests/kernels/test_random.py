"""The kernels' random numbers (``_kernels._random``): the ziggurat's normal draws."""

import numba
import numpy as np
from scipy import stats

from sklearn_mf._kernels._random import fill_normal


@numba.njit
def _draws(seed, n):
    out = np.empty(n)
    fill_normal(np.uint64(seed), 1.0, out)
    return out


def test_normal_draws_follow_the_standard_normal_into_the_tails():
    draws = _draws(12345, 1_000_000)
    assert stats.kstest(draws, "norm").pvalue > 1e-3
    assert abs(draws.mean()) < 0.005 and abs(draws.std() - 1.0) < 0.005
    # The base layer and the tail beyond 3.44 are drawn by their own branches.
    for cut in (1.0, 2.0, 3.0, 3.44, 4.0):
        expected = 2 * stats.norm.sf(cut)
        observed = np.mean(np.abs(draws) > cut)
        assert abs(observed - expected) < 5 * np.sqrt(expected / draws.size)


def test_normal_draws_follow_their_seed():
    np.testing.assert_array_equal(_draws(7, 100), _draws(7, 100))
    assert not np.allclose(_draws(7, 100), _draws(8, 100))
