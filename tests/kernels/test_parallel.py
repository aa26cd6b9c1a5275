"""Parallel kernels and their serial twins (``_kernels._parallel``)."""

import numba
import numpy as np
import pytest

from sklearn_mf._kernels._init import normal_rows
from sklearn_mf._kernels._parallel import ParallelKernel


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
