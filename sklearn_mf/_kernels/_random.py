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


# The ziggurat of normal draws (G. Marsaglia and W. W. Tsang, "The ziggurat method
# for generating random variables", J. Stat. Softw. 5(8), 2000, in J. A. Doornik's
# form, "An improved ziggurat method to generate normal random samples", 2005):
# 128 layers of equal area under the density, whose right edges are
# _ZIGGURAT_EDGES; a draw falls inside a layer's rectangle, and needs nothing but a
# multiplication, 99% of the time.
_ZIGGURAT_LAYERS = 128
_ZIGGURAT_TAIL = 3.442619855899  # the base layer's right edge, where the tail starts
_ZIGGURAT_AREA = 9.91256303526217e-3  # the area of each layer


def _ziggurat_edges() -> np.ndarray:
    density = np.exp(-0.5 * _ZIGGURAT_TAIL**2)
    edges = np.zeros(_ZIGGURAT_LAYERS + 1)
    edges[0] = _ZIGGURAT_AREA / density  # the base layer holds the tail's area too
    edges[1] = _ZIGGURAT_TAIL
    for i in range(2, _ZIGGURAT_LAYERS):
        edges[i] = np.sqrt(-2.0 * np.log(_ZIGGURAT_AREA / edges[i - 1] + density))
        density = np.exp(-0.5 * edges[i] ** 2)
    return edges


_ZIGGURAT_EDGES = _ziggurat_edges()
# The share of each layer's width that lies under the density at every height.
_ZIGGURAT_INNER = _ZIGGURAT_EDGES[1:] / _ZIGGURAT_EDGES[:-1]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _uniform(state):
    """Advance ``state``; return it and a uniform draw in (0, 1]."""
    state, z = splitmix64(state)
    return state, ((z >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def standard_normal(state):
    """Advance ``state``; return it and a N(0, 1) draw (the ziggurat method)."""
    edges, inner = _ZIGGURAT_EDGES, _ZIGGURAT_INNER
    while True:
        state, z = splitmix64(state)
        layer = np.int64(z & np.uint64(_ZIGGURAT_LAYERS - 1))
        # 53 other bits: a uniform in (-1, 1).
        u = np.float64(z >> np.uint64(11)) * (2.0 / 9007199254740992.0) - 1.0
        if abs(u) < inner[layer]:
            return state, u * edges[layer]
        if layer == 0:  # the tail beyond _ZIGGURAT_TAIL (Marsaglia's method)
            while True:
                state, a = _uniform(state)
                state, b = _uniform(state)
                x = np.log(a) / _ZIGGURAT_TAIL
                if -2.0 * np.log(b) >= x * x:
                    tail = _ZIGGURAT_TAIL - x
                    return state, -tail if u < 0.0 else tail
        x = u * edges[layer]
        outer = np.exp(-0.5 * (edges[layer] ** 2 - x * x))
        under = np.exp(-0.5 * (edges[layer + 1] ** 2 - x * x))
        state, c = _uniform(state)
        if under + c * (outer - under) < 1.0:
            return state, x


@numba.njit(cache=True, error_model="numpy", nogil=True)
def fill_normal(state, scale, out):
    """Fill ``out`` with N(0, scale^2) draws; return the advanced state."""
    for f in range(out.shape[0]):
        state, draw = standard_normal(state)
        out[f] = draw * scale
    return state
