"""A streaming low-rank sketch of the average of many matrix products.

The posterior mean of a factorization's interactions is the average over samples of
``V_s W_s'``: an ``n_users x n_items`` matrix whose rank is up to ``n_samples x k``,
but whose spectrum falls fast (on MovieLens its best approximation of rank
``8 * n_components`` predicts almost exactly as it does: benchmarks/README.md,
"Figures behind code choices"). Keeping every sample would take
``n_samples`` times the memory of one model; this sketch keeps two thin matrices and
updates them with each sample (J. A. Tropp, A. Yurtsever, M. Udell and V. Cevher,
"Practical sketching algorithms for low-rank matrix approximation", SIAM J. Matrix
Anal. Appl. 38(4), 2017), multiplied by sparse sign test matrices (their 2019 paper in
SIAM J. Sci. Comput. 41(4)), so that an update costs the two products that write the
sketches and little more.
"""

import numpy as np
import scipy.linalg
import scipy.linalg.blas

from .._kernels._sparse_sign import add_sparse_sign_product, draw_sparse_signs

# Products are buffered and added this many factor columns at a time (fewer when the
# buffer would pass _BUFFER_BYTES): BLAS multiplies by thin factors (k columns) at a
# fraction of the speed it reaches on wide ones (benchmarks/README.md, "Figures
# behind code choices"). The sum is the same; only its rounding differs.
_BUFFER_COLUMNS = 128
_BUFFER_BYTES = 64 << 20
# Nonzeros per row of a test matrix, as Tropp et al. (2019) recommend.
_NONZEROS = 8


class SparseSigns:
    """A test matrix with ``_NONZEROS`` random signs per row (fewer when it has fewer
    columns), one row per id, drawn from the ids' seeds."""

    def __init__(self, row_seeds: np.ndarray, n_columns: int, seed: int):
        shape = (row_seeds.shape[0], min(_NONZEROS, n_columns))
        self.n_columns = n_columns
        self.positions = np.empty(shape, dtype=np.int32)
        self.signs = np.empty(shape)
        draw_sparse_signs(
            row_seeds, np.uint64(seed), n_columns, self.positions, self.signs
        )

    def transpose_times(self, x: np.ndarray) -> np.ndarray:
        """``S' x`` for this matrix ``S``."""
        out = np.zeros((self.n_columns, x.shape[1]))
        add_sparse_sign_product(self.positions, self.signs, x, out)
        return out


class ProductSketch:
    """Sketch of ``M = sum_s V_s W_s'`` for ``V_s`` of shape ``(m, k)`` and ``W_s`` of
    shape ``(n, k)``: the range sketch ``M Omega`` and the co-range sketch ``Psi M``.

    The test matrices are drawn row by row from the ids' seeds, so a row's draws do not
    depend on the other ids in the data. Products are added in batches (see
    ``_BUFFER_COLUMNS``): :meth:`factors` adds what is buffered first.
    """

    def __init__(
        self, row_seeds: np.ndarray, col_seeds: np.ndarray, rank: int, seed: int
    ):
        corank = 2 * rank + 1
        self.range_test = SparseSigns(col_seeds, rank, 2 * seed)
        self.corange_test = SparseSigns(row_seeds, corank, 2 * seed + 1)
        n_rows, n_cols = row_seeds.shape[0], col_seeds.shape[0]
        self.range = np.zeros((n_rows, rank))
        self.corange = np.zeros((corank, n_cols))
        self._width = max(
            1, min(_BUFFER_COLUMNS, _BUFFER_BYTES // (8 * (n_rows + n_cols)))
        )
        self._row_buffer = np.empty((n_rows, 0))
        self._col_buffer = np.empty((n_cols, 0))
        self._buffered = 0

    def add(self, row_vectors: np.ndarray, col_vectors: np.ndarray) -> None:
        """Add one product ``V W'`` without forming it."""
        k = row_vectors.shape[1]
        if k > self._width:
            self._flush()
            self._add_now(row_vectors, col_vectors)
            return
        if self._row_buffer.shape[1] < k:
            # A whole number of products per batch: a full buffer is contiguous,
            # and BLAS reads it without a copy.
            width = self._width // k * k
            self._flush()
            self._row_buffer = np.empty((self._row_buffer.shape[0], width))
            self._col_buffer = np.empty((self._col_buffer.shape[0], width))
        if self._buffered + k > self._row_buffer.shape[1]:
            self._flush()
        end = self._buffered + k
        self._row_buffer[:, self._buffered : end] = row_vectors
        self._col_buffer[:, self._buffered : end] = col_vectors
        self._buffered = end

    def _flush(self) -> None:
        if self._buffered:
            end = self._buffered
            self._add_now(self._row_buffer[:, :end], self._col_buffer[:, :end])
            self._buffered = 0

    def _add_now(self, row_vectors: np.ndarray, col_vectors: np.ndarray) -> None:
        _add_product(
            self.range, row_vectors, self.range_test.transpose_times(col_vectors).T
        )
        _add_product(
            self.corange, self.corange_test.transpose_times(row_vectors), col_vectors.T
        )

    def factors(self, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """``(A, B)`` with ``A B'`` the sketch's approximation of ``scale * M``,
        balanced so that ``A`` and ``B`` have the same column norms."""
        self._flush()
        basis, _ = np.linalg.qr(self.range)
        core = _least_squares(self.corange_test.transpose_times(basis), self.corange)
        left, singular, right = np.linalg.svd(scale * core, full_matrices=False)
        root = np.sqrt(singular)
        return (basis @ left) * root, right.T * root


def _least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin_x |a x - b|`` for a tall ``a``, through its QR factorisation when it
    has full column rank (a random embedding of an orthonormal basis almost always
    does): LAPACK's default least-squares driver (an SVD) is several times slower.
    A rank-deficient ``a`` takes the pivoted driver."""
    orthonormal, triangle = np.linalg.qr(a)
    pivots = np.abs(np.diag(triangle))
    if pivots.size and pivots.min() > 1e-10 * pivots.max():
        return scipy.linalg.solve_triangular(triangle, orthonormal.T @ b)
    return scipy.linalg.lstsq(a, b, lapack_driver="gelsy")[0]


def _add_product(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """``out += a @ b`` in place, for a C-contiguous ``out``: BLAS accumulates into
    ``out`` (as ``out' += b' a'``) instead of writing a temporary of its size."""
    if not out.flags.c_contiguous:  # BLAS would update a copy
        raise ValueError("_add_product accumulates into C-contiguous arrays only.")
    left, transpose_left = _blas_operand(b.T)
    right, transpose_right = _blas_operand(a.T)
    scipy.linalg.blas.dgemm(
        1.0,
        left,
        right,
        beta=1.0,
        c=out.T,
        trans_a=transpose_left,
        trans_b=transpose_right,
        overwrite_c=True,
    )


def _blas_operand(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """``(x, t)`` with ``x`` Fortran-ordered and ``matrix`` equal to ``x`` (``t=0``)
    or its transpose (``t=1``): BLAS takes either without a copy."""
    if matrix.flags.f_contiguous:
        return matrix, 0
    if matrix.flags.c_contiguous:
        return matrix.T, 1
    return np.asfortranarray(matrix), 0
