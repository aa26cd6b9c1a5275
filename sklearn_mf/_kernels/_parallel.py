"""Parallel kernels with a serial twin, for calls on one thread.

Compiling a kernel with ``parallel=True`` takes several times as long as compiling
the same source without it (numba lowers each ``prange`` into a threaded gufunc), and
a fit on one thread (``n_jobs=None``, the default) gains nothing from it. So each
parallel kernel is also compiled from the same source without ``parallel`` (where a
``prange`` is a plain ``range``), and a call made while numba runs on one thread
takes that twin: a fresh environment's first default fit compiles only twins. The
per-row arithmetic is the same source in both, and the parallel loops write disjoint
rows, so the results are the same whichever runs.
"""

import functools
import types
from collections.abc import Callable
from typing import Any

import numba


class ParallelKernel:
    """A kernel compiled twice from one function: ``parallel`` and its serial twin
    ``serial``; calling it runs the twin when numba runs on one thread."""

    def __init__(self, function: Callable, options: dict[str, Any]):
        self.parallel = numba.njit(parallel=True, **options)(function)
        # A distinct function object under its own name, so that numba's cache
        # (files named after the qualified name) keeps the two apart.
        twin = types.FunctionType(
            function.__code__,
            function.__globals__,
            function.__name__ + "_serial",
            function.__defaults__,
            function.__closure__,
        )
        twin.__qualname__ = function.__qualname__ + "_serial"
        twin.__module__ = function.__module__
        self.serial = numba.njit(**options)(twin)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any) -> Any:
        kernel = self.parallel if numba.get_num_threads() > 1 else self.serial
        return kernel(*args)

    def __reduce__(self) -> str:
        # Pickled by reference, as functions are (``__wrapped__``, the plain
        # function, would otherwise be looked up under this object's name).
        return self.__qualname__


def parallel_kernel(**options: Any) -> Callable[[Callable], ParallelKernel]:
    """Decorator: ``numba.njit(parallel=True, **options)`` with a serial twin for
    calls on one thread (see :class:`ParallelKernel`)."""

    def decorate(function: Callable) -> ParallelKernel:
        return ParallelKernel(function, options)

    return decorate
