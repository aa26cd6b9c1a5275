"""The kernels of a default fit, compiled before its first call.

numba compiles a kernel on its first call with each combination of argument types
and caches the machine code (``cache=True``) in ``__pycache__`` next to the
sources, or in ``NUMBA_CACHE_DIR``. Left to the first call, that costs a fresh
environment's first ``MatrixFactorization().fit`` seconds. The install compiles,
through :func:`compile_default_fit`, the kernels that a default fit and ``predict``
call from Python, for the argument types they pass; numba compiles what those
kernels call along with them. The first fit then loads them from the cache.
``python -m sklearn_mf._kernels._precompile`` does the same by hand (after an
upgrade of numba, or for another ``NUMBA_CACHE_DIR``).

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
    """Each kernel that a default fit and ``predict`` call from Python, with example
    arguments of the types they pass (one row or element is as good as many, but
    two, so that a zero-stride view is not contiguous)."""
    codes, positions, values = (
        np.zeros(2, dtype=t) for t in (np.int32, np.int64, float)
    )
    matrix = np.zeros((2, 2))
    # The weights of a fit without sample_weight: a read-only zero-stride view.
    unit_weights = np.broadcast_to(np.float64(1.0), (2,))
    side = Side(values, matrix)
    fitted = Side(_read_only(values), _read_only(matrix))  # a fitted model's arrays
    ratings = Ratings(positions, codes, values, unit_weights)
    # The user's ids and ratings reach some kernels as they came: a column of an array
    # (strided) or of a DataFrame (contiguous), writable or read-only (pandas 3 hands
    # out read-only views of its columns).
    id_columns = [positions, np.zeros((2, 2), dtype=np.int64)[:, 0]]
    id_columns += [_read_only(ids) for ids in id_columns]
    targets = [values, _read_only(values)]
    return [
        *((dense_codes, (ids, 0, codes, codes)) for ids in id_columns),
        (count_keys, (codes, positions)),
        *(
            (
                scatter_ratings_into,
                (codes, codes, target, 0.0, 1.0, positions, 0, codes, codes, values),
            )
            for target in targets
        ),
        (
            regroup_by_other,
            (positions, codes, codes, values, positions, codes, codes, values),
        ),
        *((accumulate, (target, unit_weights, positions)) for target in targets),
        (normal_rows.serial, (np.zeros(2, dtype=np.uint64), np.uint64(0), 1.0, matrix)),
        (
            als_cg_half_step.serial,
            (
                positions,
                ratings,
                side,
                Penalty(1.0, 1.0, True),
                matrix,
                3,
                side,
                values,
            ),
        ),
        (predict_codes.serial, (codes, codes, values, side, side, 0.0, 1.0, values)),
        (
            predict_codes.serial,
            (codes, codes, values, fitted, fitted, 0.0, 1.0, values),
        ),
    ]


def compile_default_fit() -> None:
    """Compile (or load from numba's cache) every kernel of :func:`default_fit_calls`
    for its example's argument types, and cache them."""
    for kernel, arguments in default_fit_calls():
        kernel.compile(tuple(numba.typeof(argument) for argument in arguments))


if __name__ == "__main__":
    compile_default_fit()
