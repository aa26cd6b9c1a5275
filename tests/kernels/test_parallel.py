"""Parallel kernels and their serial twins (``_kernels._parallel``)."""

import pickle

import numba
import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf._kernels._als import als_cg_half_step
from sklearn_mf._kernels._init import normal_rows
from sklearn_mf._kernels._parallel import ParallelKernel
from sklearn_mf._kernels._sgd import sgd_epoch
from sklearn_mf.datasets import make_ratings
from sklearn_mf.utils import _threads


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
def test_one_thread_runs_the_serial_twin_and_both_agree():
    assert isinstance(normal_rows, ParallelKernel)
    seeds = np.arange(50, dtype=np.uint64) * np.uint64(7919)
    results = {}
    for threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            out = np.empty((50, 6))
            normal_rows(seeds, np.uint64(3), 0.5, out)
        finally:
            numba.set_num_threads(previous)
        results[threads] = out
    # Each thread count compiled (or loaded) the kernel it runs.
    assert normal_rows.serial.overloads and normal_rows.parallel.overloads
    np.testing.assert_array_equal(results[1], results[2])


def test_the_twins_keep_apart_in_the_cache():
    # numba names cache files after the qualified name: one name each.
    assert normal_rows.serial.py_func.__qualname__ == "normal_rows_serial"
    assert normal_rows.parallel.py_func.__qualname__ == "normal_rows"
    assert normal_rows.__doc__ == normal_rows.parallel.py_func.__doc__
    assert normal_rows.serial.targetoptions.get("parallel") is None
    assert normal_rows.parallel.targetoptions["parallel"] is True


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
@pytest.mark.parametrize("solver", ["cg", "als", "sgd"])
def test_threaded_and_serial_builds_fit_the_same_model(solver, monkeypatch):
    # Small fits run on one thread whatever n_jobs; without that floor, n_jobs=2
    # runs the threaded builds, n_jobs=1 the serial twins.
    monkeypatch.setattr(_threads, "MIN_WORK_PER_THREAD", 1)
    X, y, _ = make_ratings(n_users=60, n_items=40, n_ratings=1500, random_state=0)
    params = dict(solver=solver, n_components=3, alpha=0.1, max_iter=4, tol=None)
    if solver == "sgd":
        params["learning_rate"] = 0.02
    fits = [
        MatrixFactorization(**params, n_jobs=n_jobs, random_state=0).fit(X, y)
        for n_jobs in (1, 2)
    ]
    kernel = sgd_epoch if solver == "sgd" else als_cg_half_step
    if solver != "als":
        assert kernel.serial.overloads and kernel.parallel.overloads
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))
    np.testing.assert_array_equal(fits[0].loss_curve_, fits[1].loss_curve_)


def test_kernels_pickle_by_reference():
    assert pickle.loads(pickle.dumps(normal_rows)) is normal_rows
