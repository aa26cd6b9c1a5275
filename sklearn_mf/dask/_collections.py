"""Dask collections in and out: the aligned partitions of ``X``, ``y`` and
``sample_weight``, and predictions mapped over the partitions of ``X``."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._base import InputMetadata
from ..utils._sklearn import _get_feature_names

_FRAMES = (dd.DataFrame, dd.Series)


def _partitions(collection, name: str, rows: tuple | None = None) -> list:
    """The partitions of a Dask DataFrame, Series or array (rows split as ``rows``,
    the chunk sizes of ``X``, when given and known), as delayed objects."""
    if isinstance(collection, _FRAMES):
        return list(collection.to_delayed())
    if isinstance(collection, da.Array):
        if collection.ndim == 2:
            collection = collection.rechunk({1: -1})
        if rows is not None and not any(np.isnan(rows)):
            if any(np.isnan(collection.chunks[0])):
                raise ValueError(
                    f"{name} has unknown chunk sizes, so its rows cannot be matched "
                    f"with those of X; call {name}.compute_chunk_sizes() first."
                )
            collection = collection.rechunk({0: rows})
        return list(collection.to_delayed().ravel())
    raise TypeError(
        f"DaskMatrixFactorization takes Dask collections (dask.dataframe or "
        f"dask.array); {name} is a {type(collection).__name__}. Use "
        "MatrixFactorization for data in memory, or dask.dataframe.from_pandas."
    )


def metadata(X) -> InputMetadata:
    """The ``n_features_in_`` and ``feature_names_in_`` of the Dask collection
    ``X``."""
    if isinstance(X, dd.DataFrame):
        return InputMetadata(len(X.columns), _get_feature_names(X._meta))
    if isinstance(X, da.Array) and X.ndim == 2:
        return InputMetadata(int(X.shape[1]), None)
    if isinstance(X, (dd.Series, da.Array)):
        raise ValueError(
            "X must be two-dimensional: a Dask DataFrame or 2D array whose first two "
            "columns are user and item ids."
        )
    _partitions(X, "X")  # raises the TypeError
    raise AssertionError  # unreachable


def aligned_partitions(X, y, sample_weight) -> list[tuple]:
    """``(X, y, sample_weight)`` partition by partition, as delayed objects
    (``sample_weight`` None when not given)."""
    rows = X.chunks[0] if isinstance(X, da.Array) else None
    columns = {"X": _partitions(X, "X"), "y": _partitions(y, "y", rows)}
    if sample_weight is not None:
        columns["sample_weight"] = _partitions(sample_weight, "sample_weight", rows)
    counts = {name: len(parts) for name, parts in columns.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(
            "X, y and sample_weight must come in the same partitions; got "
            + ", ".join(f"{count} for {name}" for name, count in counts.items())
            + ". Repartition them alike."
        )
    weights = columns.get("sample_weight", [None] * counts["X"])
    return list(zip(columns["X"], columns["y"], weights, strict=True))


def _predicted(X, model) -> np.ndarray:
    # An empty partition (as filters leave) has no rows to predict, and no error.
    return np.zeros(0) if len(X) == 0 else model.predict(X)


def _predict_frame(X: pd.DataFrame, model) -> pd.Series:
    return pd.Series(_predicted(X, model), index=X.index, dtype=np.float64)


def predictions(X, model) -> da.Array:
    """``model.predict`` over the partitions of the Dask collection ``X``, as a Dask
    array (``model`` goes to each worker once)."""
    shared = dask.delayed(model, pure=True)
    if isinstance(X, dd.DataFrame):
        return X.map_partitions(
            _predict_frame, shared, meta=pd.Series(dtype=np.float64)
        ).to_dask_array()
    if isinstance(X, da.Array) and X.ndim == 2:
        return X.rechunk({1: -1}).map_blocks(
            _predicted,
            shared,
            drop_axis=1,
            dtype=np.float64,
            meta=np.empty(0, dtype=np.float64),
        )
    metadata(X)  # raises the error that names what X is
    raise AssertionError  # unreachable
