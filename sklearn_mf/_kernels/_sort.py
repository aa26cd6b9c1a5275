"""Encoding and grouping by integer key in linear time (stable counting sorts).

Each pass reads its input in sequence and writes to one stream per key; gathering
through a permutation instead would miss the cache on every element once the
ratings outgrow it.
"""

import numba
import numpy as np

# Keys whose groups one pass of a rating scatter fills. Each key's group keeps a cache
# line of every output busy; with many more keys than the caches hold lines for,
# nearly every write misses. More keys are scattered in several passes over the
# input, each for one range of keys (benchmarks/README.md, "Figures behind code
# choices").
_KEYS_PER_PASS = 1 << 15


@numba.njit(cache=True, error_model="numpy", nogil=True)
def dense_codes(ids, low, code_of, codes):
    """Write into ``codes`` the rank of each of ``ids`` among their distinct values.

    ``code_of`` must be zeros, one per value of ``low..max(ids)``; it is left
    holding each value's code, -1 for values absent from ``ids``.
    """
    for n in range(ids.shape[0]):
        code_of[ids[n] - low] = 1
    code = 0
    for v in range(code_of.shape[0]):
        if code_of[v]:
            code_of[v] = code
            code += 1
        else:
            code_of[v] = -1
    for n in range(ids.shape[0]):
        codes[n] = code_of[ids[n] - low]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def count_keys(keys, counts):
    """Add to ``counts[k]`` the number of entries of ``keys`` equal to ``k``.

    ``np.bincount`` would first copy int32 keys into a new intp array.
    """
    for n in range(keys.shape[0]):
        counts[keys[n]] += 1


@numba.njit(cache=True, error_model="numpy", nogil=True)
def scatter_by_key(keys, indptr, order):
    """Write into ``order`` the positions ``0..n-1`` grouped by ``keys``, stably.

    ``indptr`` holds the start of each key's group (the cumulated key counts) and
    ``indptr[-1] == keys.shape[0]``; positions with equal keys keep their order.
    """
    fill = indptr[:-1].copy()
    for n in range(keys.shape[0]):
        key = keys[n]
        order[fill[key]] = n
        fill[key] += 1


@numba.njit(cache=True, error_model="numpy", nogil=True)
def scatter_ratings_into(
    keys, other, values, offset, scale, fill, first, out_order, out_other, out_values
):
    """Group ratings by ``keys``, stably, carrying what the rows need: like
    :func:`scatter_by_key`, for one part of the ratings, whose positions start at
    ``first``.

    ``fill[k]`` is the next free slot of key ``k`` (for one part alone: the start of
    each key's group), advanced here, so that parts scattered one after the other
    are grouped as their concatenation would be. Each rating's slot receives its
    position in ``out_order``, ``other`` in ``out_other`` and ``(values - offset) /
    scale`` in ``out_values``. Keys go ``_KEYS_PER_PASS`` at a time.
    """
    for low in range(0, fill.shape[0], _KEYS_PER_PASS):
        high = low + _KEYS_PER_PASS
        for n in range(keys.shape[0]):
            key = keys[n]
            if low <= key < high:
                p = fill[key]
                out_order[p] = first + n
                out_other[p] = other[n]
                out_values[p] = (values[n] - offset) / scale
                fill[key] = p + 1


@numba.njit(cache=True, error_model="numpy", nogil=True)
def sort_rows_by_other(indptr, other, order, values):
    """Sort each row's ratings (``indptr``) by ``other``, stably, carrying ``order``
    and ``values`` along; in place."""
    for row in range(indptr.shape[0] - 1):
        start, end = indptr[row], indptr[row + 1]
        if end - start < 2:
            continue
        keys = other[start:end]
        ordered = True
        for r in range(1, end - start):
            if keys[r] < keys[r - 1]:
                ordered = False
                break
        if ordered:
            continue
        permutation = np.argsort(keys, kind="mergesort")
        other[start:end] = keys[permutation]
        order[start:end] = order[start:end][permutation]
        values[start:end] = values[start:end][permutation]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def sum_by_key(keys, weights, out):
    """Add each of ``weights`` to ``out`` at its key, in order (``np.bincount``'s
    sums, without its intp copy of the keys)."""
    for n in range(keys.shape[0]):
        out[keys[n]] += weights[n]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def regroup_by_other(
    indptr, other, order, values, other_indptr, out_order, out_other, out_values
):
    """Turn ratings grouped by row into ratings grouped by the other side, stably.

    The input's row ``r`` holds ratings ``indptr[r]:indptr[r + 1]`` with other-side
    keys ``other``, positions ``order`` and ``values``; ``other_indptr`` holds the
    start of each other-side group. Within an output group the ratings come in input
    order, so rows ascending: the output rows are sorted by the input's row, which
    ``out_other`` receives, with each rating's position and value in ``out_order``
    and ``out_values``. Other-side keys go ``_KEYS_PER_PASS`` at a time.
    """
    fill = other_indptr[:-1].copy()
    for low in range(0, fill.shape[0], _KEYS_PER_PASS):
        high = low + _KEYS_PER_PASS
        for row in range(indptr.shape[0] - 1):
            for r in range(indptr[row], indptr[row + 1]):
                key = other[r]
                if low <= key < high:
                    p = fill[key]
                    out_order[p] = order[r]
                    out_other[p] = row
                    out_values[p] = values[r]
                    fill[key] = p + 1
