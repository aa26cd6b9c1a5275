"""Thread control for ``n_jobs``: numba's pool for our kernels, one BLAS thread."""

from collections.abc import Iterator
from contextlib import contextmanager

import joblib
import numba
from threadpoolctl import threadpool_limits


def effective_threads(n_jobs: int | None) -> int:
    """Number of numba threads for ``n_jobs``, following joblib's conventions.

    ``None`` means 1 (or the enclosing ``joblib.parallel_config``), negative values
    count back from the number of CPUs. The result never exceeds numba's thread pool,
    which joblib's workers (e.g. inside ``GridSearchCV(n_jobs=2)``) shrink through
    ``NUMBA_NUM_THREADS`` so that nested parallelism does not oversubscribe the CPUs.
    """
    return max(1, min(joblib.effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def numba_threads(
    n_jobs: int | None, *, single_blas_thread: bool = False
) -> Iterator[int]:
    """Run the block with numba's thread count set from ``n_jobs``, then restore it.

    With ``single_blas_thread`` (used by ``fit``, not by the latency-sensitive
    ``predict``), BLAS is held to one thread meanwhile: the NumPy calls between the
    kernels are small, and an idle OpenBLAS pool spins on the CPUs the numba threads
    need.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(effective_threads(n_jobs))
    try:
        if single_blas_thread:
            with threadpool_limits(limits=1, user_api="blas"):
                yield numba.get_num_threads()
        else:
            yield numba.get_num_threads()
    finally:
        numba.set_num_threads(previous)
