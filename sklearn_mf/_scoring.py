"""The one predict path and the top-n ranking, as pure functions of a model.

``predict``, the Bayesian estimator's mean, early stopping and the ``alpha="auto"``
search all score rows through :func:`predict_rows`; ``recommend`` and
``similar_items`` rank through :func:`top_n`. Besides the solvers and the index
builders (``_ids.py``, ``_ratings.py``), this is the only caller of the numba kernels.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._kernels._predict import predict_codes
from ._kernels._topk import top_n_rows
from ._kernels._types import Side

# Rows of scores computed per block: about 32 MB of float64 whatever the catalogue.
_BLOCK_VALUES = 1 << 22


class SideModel(NamedTuple):
    """What one side contributes to a prediction: a bias and a vector per known id,
    and, when unknown ids are described by their attributes, the feature columns
    that describe this side and their latent vectors (``attribute_factors`` None
    otherwise)."""

    bias: np.ndarray
    vectors: np.ndarray
    attribute_columns: np.ndarray
    attribute_factors: np.ndarray | None = None


class Predictor(NamedTuple):
    """A model as prediction sees it: ``offset + x c + b_u + b_i + v_u . w_i`` with
    the features ``x`` centred by ``feature_mean``, clipped to ``[lower, upper]``."""

    offset: float
    feature_mean: np.ndarray | float
    coef: np.ndarray
    users: SideModel
    items: SideModel
    lower: float = -np.inf
    upper: float = np.inf


class EncodedRows(NamedTuple):
    """Rows to score: user and item codes (-1 for unknown ids) and their features."""

    user_codes: np.ndarray
    item_codes: np.ndarray
    features: np.ndarray


def describe_unknown(
    codes: np.ndarray,
    vectors: np.ndarray,
    bias: np.ndarray,
    describe: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give each row of an unknown id (code -1) a vector from its attributes.

    ``describe(rows)`` returns the vectors of the rows at positions ``rows``.
    Returns ``(codes, vectors, bias)`` extended by one vector (and a zero bias) per
    such row, with the row's code pointing to it; unchanged when no row needs one.
    Known ids keep the vectors they were fitted with.
    """
    unknown = np.flatnonzero(codes < 0)
    if unknown.size == 0:
        return codes, vectors, bias
    described = describe(unknown)
    codes = codes.copy()
    codes[unknown] = vectors.shape[0] + np.arange(unknown.size, dtype=codes.dtype)
    return (
        codes,
        np.vstack([vectors, described]),
        np.concatenate([bias, np.zeros(unknown.size)]),
    )


def _side_arrays(side: SideModel, codes: np.ndarray, centred: np.ndarray):
    if side.attribute_factors is None:
        return codes, side.vectors, side.bias
    columns = side.attribute_columns
    return describe_unknown(
        codes,
        side.vectors,
        side.bias,
        lambda rows: centred[np.ix_(rows, columns)] @ side.attribute_factors,
    )


def predict_rows(predictor: Predictor, rows: EncodedRows) -> np.ndarray:
    """The predictions of ``predictor`` for ``rows``; unknown ids fall back to the
    biases they have, or to their attributes' vectors when the side has them."""
    centred = rows.features - predictor.feature_mean
    base = predictor.offset + centred @ predictor.coef
    user_codes, user_vectors, user_bias = _side_arrays(
        predictor.users, rows.user_codes, centred
    )
    item_codes, item_vectors, item_bias = _side_arrays(
        predictor.items, rows.item_codes, centred
    )
    out = np.empty(rows.user_codes.shape[0])
    predict_codes(
        user_codes,
        item_codes,
        np.ascontiguousarray(base, dtype=np.float64),
        Side(user_bias, user_vectors),
        Side(item_bias, item_vectors),
        predictor.lower,
        predictor.upper,
        out,
    )
    return out


def top_n(
    row_vectors: np.ndarray,
    row_bias: np.ndarray,
    col_vectors: np.ndarray,
    col_bias: np.ndarray,
    excluded_ptr: np.ndarray,
    excluded: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``n`` columns of ``row_vectors @ col_vectors.T + row_bias + col_bias`` per
    row, skipping each row's ``excluded`` columns (CSR by ``excluded_ptr``); blocks
    of rows bound the memory."""
    n_rows, n_cols = row_vectors.shape[0], col_vectors.shape[0]
    index = np.empty((n_rows, n), dtype=np.int64)
    score = np.empty((n_rows, n))
    block = max(1, _BLOCK_VALUES // max(n_cols, 1))
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        scores = row_vectors[start:stop] @ col_vectors.T
        scores += col_bias
        top_n_rows(
            scores,
            excluded_ptr[start : stop + 1] - excluded_ptr[start],
            excluded[excluded_ptr[start] : excluded_ptr[stop]],
            n,
            index[start:stop],
            score[start:stop],
        )
    score += row_bias[:, None]
    return index, score
