"""Top-``n`` selection per row of a score block, in parallel over rows."""

import numba
import numpy as np

from ._parallel import parallel_kernel


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _sift_down(heap_score, heap_index, size, pos):
    """Move the entry at ``pos`` down the heap of the first ``size`` entries of
    ``heap_score`` and ``heap_index`` until both children rank above it."""
    # A min-heap on (score, -index): the root is the worst kept candidate, and of
    # equal scores the later index is dropped first.
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and (
            heap_score[child + 1] < heap_score[child]
            or (
                heap_score[child + 1] == heap_score[child]
                and heap_index[child + 1] > heap_index[child]
            )
        ):
            child += 1
        if heap_score[child] < heap_score[pos] or (
            heap_score[child] == heap_score[pos] and heap_index[child] > heap_index[pos]
        ):
            heap_score[pos], heap_score[child] = heap_score[child], heap_score[pos]
            heap_index[pos], heap_index[child] = heap_index[child], heap_index[pos]
            pos = child
        else:
            return


@parallel_kernel(cache=True, error_model="numpy", nogil=True)
def top_n_rows(scores, excluded_ptr, excluded, n, out_index, out_score):
    """Write the ``n`` best columns of each row of ``scores`` into ``out_index`` and
    ``out_score`` (best first; equal scores in column order).

    Row ``r`` skips the columns ``excluded[excluded_ptr[r]:excluded_ptr[r + 1]]``
    (column numbers, or -1 for none), which are set to ``-inf`` in ``scores``:
    ``scores`` is scratch. Every row must keep at least ``n`` columns.
    """
    n_cols = scores.shape[1]
    for r in numba.prange(scores.shape[0]):
        row = scores[r]
        for e in range(excluded_ptr[r], excluded_ptr[r + 1]):
            if excluded[e] >= 0:
                row[excluded[e]] = -np.inf
        heap_score = out_score[r]
        heap_index = out_index[r]
        size = 0
        for c in range(n_cols):
            s = row[c]
            if s == -np.inf:
                continue
            if size < n:
                # Insert at the end and sift up.
                pos = size
                size += 1
                heap_score[pos] = s
                heap_index[pos] = c
                while pos > 0:
                    parent = (pos - 1) // 2
                    if heap_score[pos] < heap_score[parent] or (
                        heap_score[pos] == heap_score[parent]
                        and heap_index[pos] > heap_index[parent]
                    ):
                        heap_score[pos], heap_score[parent] = (
                            heap_score[parent],
                            heap_score[pos],
                        )
                        heap_index[pos], heap_index[parent] = (
                            heap_index[parent],
                            heap_index[pos],
                        )
                        pos = parent
                    else:
                        break
            elif s > heap_score[0]:
                heap_score[0] = s
                heap_index[0] = c
                _sift_down(heap_score, heap_index, size, 0)
        # Heap sort in place: repeatedly move the worst kept to the end.
        for end in range(size - 1, 0, -1):
            heap_score[0], heap_score[end] = heap_score[end], heap_score[0]
            heap_index[0], heap_index[end] = heap_index[end], heap_index[0]
            _sift_down(heap_score, heap_index, end, 0)
