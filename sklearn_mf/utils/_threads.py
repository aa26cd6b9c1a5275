"""Numba thread control for ``n_jobs``."""

from collections.abc import Iterator
from contextlib import contextmanager

import joblib
import numba


def effective_threads(n_jobs: int | None) -> int:
    """Number of numba threads for ``n_jobs``, following joblib's conventions.

    ``None`` means 1 (or the enclosing ``joblib.parallel_config``), negative values
    count back from the number of CPUs. The result never exceeds numba's thread pool,
    which joblib's workers (e.g. inside ``GridSearchCV(n_jobs=2)``) shrink through
    ``NUMBA_NUM_THREADS`` so that nested parallelism does not oversubscribe the CPUs.
    """
    return max(1, min(joblib.effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the block with numba's thread count set from ``n_jobs``, then restore it."""
    previous = numba.get_num_threads()
    numba.set_num_threads(effective_threads(n_jobs))
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(previous)
