"""Counter-free random numbers inside kernels, from seeds the Python layer draws."""

import numba
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def splitmix64(state):
    """Advance a SplitMix64 state; return the new state and a well-mixed 64-bit value."""
    state = state + GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, error_model="numpy", nogil=True)
def random_below(state, n):
    """Advance ``state``; return it and a random integer in ``[0, n)`` (``n >= 1``).

    Lemire's multiply-shift maps 32 random bits to the range: no slow 64-bit modulo.
    """
    state, z = splitmix64(state)
    return state, np.int64(((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@numba.njit(cache=True, error_model="numpy", nogil=True)
def seeded_state(row_seed, seed):
    """The generator state of one row for one draw: its id's seed ``row_seed``
    mixed with ``seed``."""
    return row_seed ^ (seed * GOLDEN)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def fill_normal(state, scale, out):
    """Fill ``out`` with N(0, scale^2) draws (Box-Muller); return the advanced state."""
    n = out.shape[0]
    f = 0
    while f < n:
        state, a = splitmix64(state)
        state, b = splitmix64(state)
        # 53-bit uniforms in (0, 1], then Box-Muller gives two normals.
        u1 = ((a >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)
        u2 = (b >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        radius = np.sqrt(-2.0 * np.log(u1)) * scale
        out[f] = radius * np.cos(2.0 * np.pi * u2)
        if f + 1 < n:
            out[f + 1] = radius * np.sin(2.0 * np.pi * u2)
        f += 2
    return state
