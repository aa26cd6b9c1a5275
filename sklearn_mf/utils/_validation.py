"""The input contract for ``X``: user ids, item ids and numeric side features."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._ids import canonical_ids

# The largest magnitude of a rating, a sample weight or a feature value: squares and
# sums of a few thousand such values stay finite in float64 (whose limit is 1.8e308).
MAX_MAGNITUDE = 1e150


def check_magnitude(values: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` when a finite value of ``values`` exceeds
    ``MAX_MAGNITUDE`` in absolute value."""
    if values.size and np.max(np.abs(values)) > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} contains values of magnitude above {MAX_MAGNITUDE:g}, whose "
            "squares overflow float64; rescale it."
        )


@dataclass(frozen=True)
class RatingInput:
    """``X`` split into canonical id columns and a float64 feature matrix."""

    users: np.ndarray
    items: np.ndarray
    features: np.ndarray

    @property
    def n_samples(self) -> int:
        return self.users.shape[0]


def as_2d(X) -> np.ndarray | pd.DataFrame:
    """Return ``X`` as a 2D array (or the DataFrame itself), rejecting sparse input."""
    if sp.issparse(X):
        raise TypeError(
            "Sparse input is not supported: X holds ids and must be a dense array or "
            "DataFrame whose first two columns are user and item ids."
        )
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, (dict, set, frozenset, str, bytes, Iterator)):
        raise TypeError(
            "X must be a 2D array-like or a DataFrame with one row per rating (user "
            f"id, item id, then optional numeric features); got a {type(X).__name__}."
            + (" Pass a list of its rows." if hasattr(X, "__next__") else "")
        )
    if not hasattr(X, "__array__") and not hasattr(X, "shape"):
        # Lists of mixed rows: keep each element's Python type (an id 1 must not become
        # the string "1" as numpy's common-dtype conversion would make it).
        X = np.asarray(X, dtype=object)
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(
            "Complex data not supported: X must hold ids and real features."
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for X, got {X.ndim}D array instead. X must have one "
            "row per rating: user id, item id, then optional numeric features. "
            "Reshape your data with array.reshape(-1, 2) if needed."
        )
    return X


def _column(X, j: int) -> np.ndarray:
    return X.iloc[:, j].to_numpy() if isinstance(X, pd.DataFrame) else X[:, j]


def _features(X) -> np.ndarray:
    block = X.iloc[:, 2:] if isinstance(X, pd.DataFrame) else X[:, 2:]
    try:
        values = np.asarray(block)
        if values.dtype.kind == "c":
            raise ValueError("Complex data not supported in the feature columns of X.")
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if "Complex" in str(exc):
            raise
        raise ValueError(
            "Columns 2 and beyond of X are side features and must be numeric; "
            f"converting them to float failed: {exc}"
        ) from None
    if np.isnan(values).any():
        raise ValueError("Input X contains NaN in its feature columns (2 and beyond).")
    if not np.isfinite(values).all():
        raise ValueError(
            "Input X contains infinity or a value too large for float64 in its "
            "feature columns (2 and beyond)."
        )
    check_magnitude(values, "The feature columns of X (2 and beyond)")
    return np.ascontiguousarray(values)


def split_rating_columns(X, estimator_name: str) -> RatingInput:
    """Validate a 2D ``X`` from :func:`as_2d` and split it into ids and features.

    Raises ``TypeError`` for unhashable ids, ``ValueError`` for too few rows or
    columns, missing or non-finite values and non-numeric feature columns.
    """
    n_samples, n_columns = X.shape
    if n_columns < 2:
        raise ValueError(
            f"Found array with {n_columns} feature(s) (shape={X.shape}) while a minimum "
            f"of 2 is required by {estimator_name}: column 0 holds user ids and "
            "column 1 item ids."
        )
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
            "required."
        )
    return RatingInput(
        users=canonical_ids(_column(X, 0), "user (column 0)"),
        items=canonical_ids(_column(X, 1), "item (column 1)"),
        features=_features(X),
    )
