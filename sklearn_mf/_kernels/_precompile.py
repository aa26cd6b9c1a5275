"""The kernels of a default fit, compiled before its first call.

numba compiles a kernel on its first call with each combination of argument types
and caches the machine code (``cache=True``) in ``__pycache__`` next to the
sources, or in ``NUMBA_CACHE_DIR``. Left to the first call, that costs a fresh
environment's first ``MatrixFactorization().fit`` seconds. The install compiles,
through :func:`compile_default_fit`, the kernels that a default fit, ``predict``
and ``score`` call from Python, for the argument types they pass; numba compiles
what those kernels call along with them. The first fit then loads them from the
cache. ``python -m sklearn_mf._kernels._precompile`` does the same by hand (after
editing a kernel or switching branches, when the install's build used another numba
than the environment has, or for another ``NUMBA_CACHE_DIR``).

This module imports only numba, NumPy and the kernels, so that the build step
(``setup.py``) can run it before the package's other dependencies are installed.
"""

import numba
import numpy as np

from ._als import als_cg_half_step
from ._exact import accumulate
from ._init import normal_rows
from ._predict import predict_codes
from ._sort import count_keys, dense_codes, regroup_by_other, scatter_ratings_into
from ._types import Penalty, Ratings, Side


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def default_fit_calls() -> list[tuple[numba.core.dispatcher.Dispatcher, tuple]]:
    """Each kernel that a default fit, ``predict`` and ``score`` call from Python,
    with example arguments of the types they pass.

    numba specialises on dtype, dimensions, layout and writability, not on size; the
    examples have two elements because a one-element zero-stride view counts as
    contiguous. ``int64s`` stands for every int64 argument (row starts, fill
    pointers, chunk bounds, the bins of exact sums).
    """
    codes, int64s, values = (np.zeros(2, dtype=t) for t in (np.int32, np.int64, float))
    matrix = np.zeros((2, 2))
    # The weights of a fit without sample_weight: a read-only zero-stride view.
    unit_weights = np.broadcast_to(np.float64(1.0), (2,))
    side = Side(values, matrix)
    fitted = Side(_read_only(values), _read_only(matrix))  # a fitted model's arrays
    # The CG half-step reads a large other side through a float32 copy
    # (_solvers/_als.py, FLOAT32_GATHER_BYTES), and prefetches from it.
    float32_matrix = np.zeros((2, 2), dtype=np.float32)
    other_sides = [(side, None), (Side(values, float32_matrix), float32_matrix)]
    ratings = Ratings(int64s, codes, values, unit_weights)
    # The user's ids and ratings reach some kernels as they came: a column of an array
    # (strided) or of a DataFrame (contiguous), writable or read-only (pandas 3 hands
    # out read-only views of its columns).
    id_columns = [int64s, np.zeros((2, 2), dtype=np.int64)[:, 0]]
    id_columns += [_read_only(ids) for ids in id_columns]
    targets = [values, _read_only(values)]
    penalty = Penalty(1.0, 1.0, True)
    return [
        *((dense_codes, (ids, 0, codes, codes)) for ids in id_columns),
        (count_keys, (codes, int64s)),
        *(
            (
                scatter_ratings_into,
                (codes, codes, target, 0.0, 1.0, int64s, 0, codes, codes, values),
            )
            for target in targets
        ),
        (
            regroup_by_other,
            (int64s, codes, codes, values, int64s, codes, codes, values),
        ),
        *((accumulate, (target, unit_weights, int64s)) for target in targets),
        (normal_rows.serial, (np.zeros(2, dtype=np.uint64), np.uint64(0), 1.0, matrix)),
        *(
            (
                als_cg_half_step.serial,
                (
                    int64s,
                    ratings,
                    other,
                    penalty,
                    matrix,
                    3,
                    side,
                    values,
                    prefetch_from,
                ),
            )
            for other, prefetch_from in other_sides
        ),
        *(
            (
                predict_codes.serial,
                (codes, codes, values, model, model, 0.0, 1.0, values),
            )
            for model in (side, fitted)
        ),
    ]


def compile_default_fit() -> None:
    """Compile (or load from numba's cache) every kernel of :func:`default_fit_calls`
    for its example's argument types, and cache them."""
    for kernel, arguments in default_fit_calls():
        kernel.compile(tuple(numba.typeof(argument) for argument in arguments))


if __name__ == "__main__":
    compile_default_fit()
