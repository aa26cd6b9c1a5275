"""Thread control for ``n_jobs``: numba's pool for our kernels, one BLAS thread."""

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import joblib
import numba
from joblib.parallel import get_active_backend
from threadpoolctl import ThreadpoolController

# OpenMP's settings for how idle worker threads wait; when the user set none of them,
# they wait passively (see _prefer_passive_waiting).
_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def _thread_budget() -> int:
    """The most threads a fit may use: numba's pool, and ``OMP_NUM_THREADS`` when
    set. joblib's workers (e.g. inside ``GridSearchCV(n_jobs=2)``) get both set to
    their share of the CPUs unless the user exported one, and numba's thread pool
    is OpenMP's, so the smaller of the two is each worker's share either way."""
    budget = numba.config.NUMBA_NUM_THREADS
    try:
        budget = min(budget, int(os.environ.get("OMP_NUM_THREADS", budget)))
    except ValueError:  # a list of nesting levels ("4,2") or garbage: not ours to read
        pass
    return max(budget, 1)


def _requested_threads(n_jobs: int | None) -> int:
    """``n_jobs`` as a count, by joblib's conventions.

    Not ``joblib.effective_n_jobs``: that asks the active backend how many worker
    processes it could start, and its default (loky) warns and answers 1 inside a
    daemon process such as a Dask worker, where threads are still ours to use.
    """
    if n_jobs is None:
        n_jobs = get_active_backend()[1]  # an enclosing parallel_config's n_jobs
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(joblib.cpu_count() + 1 + n_jobs, 1)
    return n_jobs


def effective_threads(n_jobs: int | None) -> int:
    """Number of numba threads for ``n_jobs``, following joblib's conventions.

    ``None`` means 1 (or the enclosing ``joblib.parallel_config``), negative values
    count back from the number of CPUs. The result never exceeds the thread budget
    (numba's pool and ``OMP_NUM_THREADS``), so that nested parallelism does not
    oversubscribe the CPUs: joblib's workers and Dask's (whose nannies start them
    with ``OMP_NUM_THREADS=1``) run one thread per fit.
    """
    return max(1, min(_requested_threads(n_jobs), _thread_budget()))


# The least work (rows or ratings) worth a thread of its own in a short parallel
# loop: predict's rows, SGD's ratings.
MIN_WORK_PER_THREAD = 50_000


@contextmanager
def threads_for(work: int) -> Iterator[None]:
    """Within a :func:`numba_threads` block, run a short parallel loop over ``work``
    rows or ratings on one thread per ``MIN_WORK_PER_THREAD`` of it at most."""
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(previous, work // MIN_WORK_PER_THREAD)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """threadpoolctl's view of the thread pools loaded (BLAS's among them), found
    once: finding them reads the process's memory map, a fixed cost of about a
    millisecond that every fit paid twice (benchmarks/README.md, "Figures behind
    code choices"). BLAS is loaded with NumPy, before any fit."""
    return ThreadpoolController()


def _prefer_passive_waiting() -> None:
    """Let OpenMP's idle threads sleep rather than spin, unless the user chose.

    By default an idle OpenMP thread spins for a while before it sleeps: on a
    machine whose other cores are busy, the spinning threads take CPU time from the
    ones doing the work, and ``n_jobs=2`` ran several times slower than ``n_jobs=1``
    (``benchmarks/threads.py``). The setting is read once, when numba starts its
    thread pool, so it is made just before this module first sets numba's thread
    count; it changes nothing once the pool runs or when the user set any of
    ``_WAIT_SETTINGS``.
    """
    if not any(name in os.environ for name in _WAIT_SETTINGS):
        os.environ["OMP_WAIT_POLICY"] = "passive"


@contextmanager
def numba_threads(
    n_jobs: int | None,
    *,
    single_blas_thread: bool = False,
    work: int | None = None,
    budget: bool = True,
) -> Iterator[int]:
    """Run the block with numba's thread count set from ``n_jobs``, then restore it.

    ``work`` (rows to score, ratings to visit) caps the count at one thread per
    ``MIN_WORK_PER_THREAD`` of it: below that, waking a second thread costs more
    than it saves (``benchmarks/threads.py``). Results do not depend on the count.

    With ``single_blas_thread`` (used by ``fit``, not by the latency-sensitive
    ``predict``), BLAS is held to one thread meanwhile: the NumPy calls between the
    kernels are small, and an idle OpenBLAS pool spins on the CPUs the numba threads
    need.

    ``budget=False`` takes ``n_jobs`` (a positive count) as it is, up to numba's
    pool, for callers that know their share of the CPUs, such as a task on a Dask
    worker, which gets the worker's threads whatever ``OMP_NUM_THREADS`` says.
    """
    _prefer_passive_waiting()
    previous = numba.get_num_threads()
    n_threads = (
        effective_threads(n_jobs)
        if budget
        else max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS))
    )
    if work is not None:
        n_threads = max(1, min(n_threads, work // MIN_WORK_PER_THREAD))
    numba.set_num_threads(n_threads)
    try:
        if single_blas_thread:
            with _thread_pools().limit(limits=1, user_api="blas"):
                yield numba.get_num_threads()
        else:
            yield numba.get_num_threads()
    finally:
        numba.set_num_threads(previous)
