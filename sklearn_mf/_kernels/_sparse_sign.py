"""Sparse sign test matrices for sketches: a few random +-1 entries per row.

A sketch multiplies the matrix it summarises by a random test matrix. A dense
Gaussian one costs a full product per update; a sparse sign matrix with a handful of
nonzeros per row captures the range about as well (J. A. Tropp, A. Yurtsever, M. Udell
and V. Cevher, "Streaming low-rank matrix approximation with an application to
scientific simulation", SIAM J. Sci. Comput. 41(4), 2019) and is applied in time
proportional to its nonzeros.
"""

import numba

from ._random import random_below, seeded_state


@numba.njit(cache=True, error_model="numpy", nogil=True)
def draw_sparse_signs(row_seeds, seed, n_columns, positions, signs):
    """Draw row ``r``'s ``positions.shape[1]`` distinct columns (of ``n_columns``)
    into ``positions[r]`` and a random sign for each into ``signs[r]``, from a
    generator seeded by ``row_seeds[r]`` and ``seed``: a row's draws do not depend
    on the other rows."""
    nonzeros = positions.shape[1]
    if nonzeros > n_columns:  # no distinct columns left to draw: would never end
        raise ValueError("more nonzeros per row than columns")
    for r in range(positions.shape[0]):
        state = seeded_state(row_seeds[r], seed)
        for a in range(nonzeros):
            fresh = False
            column = 0
            while not fresh:
                state, column = random_below(state, n_columns)
                fresh = True
                for b in range(a):
                    if positions[r, b] == column:
                        fresh = False
            positions[r, a] = column
            state, coin = random_below(state, 2)
            signs[r, a] = 1.0 if coin else -1.0


@numba.njit(cache=True, error_model="numpy", nogil=True)
def add_sparse_sign_product(positions, signs, x, out):
    """Add ``S' x`` to ``out`` (shape ``(n_columns, x.shape[1])``) for the sparse
    sign matrix ``S`` whose row ``r`` has ``signs[r, a]`` in column
    ``positions[r, a]`` (``x`` has one row per row of ``S``)."""
    for r in range(x.shape[0]):
        for a in range(positions.shape[1]):
            column = positions[r, a]
            sign = signs[r, a]
            for f in range(x.shape[1]):
                out[column, f] += sign * x[r, f]
