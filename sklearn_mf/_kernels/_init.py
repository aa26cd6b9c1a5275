"""Reproducible random initialisation of factor rows from per-id seeds.

Each row's starting vector depends only on its id's hash and the estimator's seed,
not on which other ids are present or in what order the data came. Refitting on a
subset, on shuffled rows or with zero-weight rows therefore starts from the same
vectors for the ids both fits share.
"""

import numba
import numpy as np

from ._random import GOLDEN, splitmix64


@numba.njit(cache=True, nogil=True, parallel=True)
def normal_rows(row_seeds, seed, scale, out):
    """Fill ``out[r]`` with N(0, scale^2) draws from a generator seeded by row seed r."""
    n_cols = out.shape[1]
    for r in numba.prange(out.shape[0]):
        state = row_seeds[r] ^ (seed * GOLDEN)
        f = 0
        while f < n_cols:
            state, a = splitmix64(state)
            state, b = splitmix64(state)
            # 53-bit uniforms in (0, 1], then Box-Muller gives two normals.
            u1 = ((a >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)
            u2 = (b >> np.uint64(11)) * (1.0 / 9007199254740992.0)
            radius = np.sqrt(-2.0 * np.log(u1)) * scale
            out[r, f] = radius * np.cos(2.0 * np.pi * u2)
            if f + 1 < n_cols:
                out[r, f + 1] = radius * np.sin(2.0 * np.pi * u2)
            f += 2
