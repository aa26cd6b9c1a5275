"""Reproducible random initialisation of factor rows from per-id seeds.

Each row's starting vector depends only on its id's hash and the estimator's seed,
not on which other ids are present or in what order the data came. Refitting on a
subset, on shuffled rows or with zero-weight rows therefore starts from the same
vectors for the ids both fits share.
"""

import numba

from ._parallel import parallel_kernel
from ._random import fill_normal, seeded_state


@parallel_kernel(cache=True, error_model="numpy", nogil=True)
def normal_rows(row_seeds, seed, scale, out):
    """Fill ``out[r]`` with N(0, scale^2) draws from a generator seeded by
    ``row_seeds[r]`` and ``seed``."""
    for r in numba.prange(out.shape[0]):
        fill_normal(seeded_state(row_seeds[r], seed), scale, out[r])
