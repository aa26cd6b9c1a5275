"""Grouping by integer key in linear time (a stable counting sort)."""

import numba


@numba.njit(cache=True, nogil=True)
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
