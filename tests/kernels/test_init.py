"""The seeded initialisation kernel (``_kernels._init``)."""

import numpy as np

from sklearn_mf._kernels._init import normal_rows


def test_normal_rows_are_seeded_per_row_and_standard_normal():
    seeds = np.arange(20000, dtype=np.uint64)
    out = np.empty((20000, 5))
    normal_rows(seeds, np.uint64(3), 1.0, out)
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    subset = np.empty((2, 5))
    normal_rows(seeds[[7, 3]], np.uint64(3), 1.0, subset)
    np.testing.assert_array_equal(subset, out[[7, 3]])
    other_seed = np.empty((2, 5))
    normal_rows(seeds[[7, 3]], np.uint64(4), 1.0, other_seed)
    assert not np.allclose(other_seed, subset)
