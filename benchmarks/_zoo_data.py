"""Readers for the rating data sets of ``$SKLEARN_MF_DATA`` beyond MovieLens.

The copies in ``../shared/data`` are not the official archives (see each folder's
SOURCE.txt), so they get no public loader in the package: benchmarks read them here.
Every reader returns ``X`` (a DataFrame of user and item ids) and ``y`` (the ratings).
``ml-100k-1to100`` is a variant, not a file: ML-100K rescaled to 1..100.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_mf.datasets import fetch_movielens

# Jester marks an unrated joke with 99.
JESTER_MISSING = 99.0


def data_home() -> Path:
    path = os.environ.get("SKLEARN_MF_DATA")
    if not path:
        raise OSError("Set SKLEARN_MF_DATA to the folder holding the data sets.")
    return Path(path)


def load_jester() -> tuple[pd.DataFrame, pd.Series]:
    """jester-1: 24,983 users x 100 jokes, continuous ratings -10..10."""
    with zipfile.ZipFile(data_home() / "jester-1" / "jester-data-1.zip") as archive:
        with archive.open("jester-data-1.csv") as f:
            matrix = pd.read_csv(f, header=None).to_numpy()[:, 1:]
    users, items = np.nonzero(matrix != JESTER_MISSING)
    X = pd.DataFrame({"user": users, "item": items})
    return X, pd.Series(matrix[users, items], name="rating")


def load_movietweetings() -> tuple[pd.DataFrame, pd.Series]:
    """movietweetings-100k: IMDb ratings 0..10 from tweets, very sparse."""
    table = pd.read_csv(
        data_home() / "movietweetings-100k" / "ratings.dat",
        sep="::",
        engine="python",
        header=None,
        names=["user", "item", "rating", "timestamp"],
        dtype={"item": str},
    )
    return table[["user", "item"]], table["rating"].astype(float)


def load_ciaodvd() -> tuple[pd.DataFrame, pd.Series]:
    """ciaodvd: DVD ratings 1..5, extremely sparse (median one rating per id)."""
    table = pd.read_csv(
        data_home() / "ciaodvd" / "movie-ratings.txt",
        header=None,
        names=["user", "item", "genre", "review", "rating", "date"],
    )
    return table[["user", "item"]], table["rating"].astype(float)


def _movielens(variant: str):
    return lambda: fetch_movielens(variant, download_if_missing=False, return_X_y=True)


Loader = Callable[[], tuple[pd.DataFrame, pd.Series]]


def rescaled(
    loader: Loader, old: tuple[float, float], new: tuple[float, float]
) -> Loader:
    """``loader`` with its ratings mapped linearly from the range ``old`` onto ``new``."""
    (old_low, old_high), (new_low, new_high) = old, new

    def load_rescaled() -> tuple[pd.DataFrame, pd.Series]:
        X, y = loader()
        return X, new_low + (new_high - new_low) * (y - old_low) / (old_high - old_low)

    return load_rescaled


LOADERS: dict[str, Loader] = {
    "ml-100k": _movielens("100k"),
    # Not a file of its own: ML-100K's 1..5 stars as 1..100 points, the same data on
    # another scale (a scale-free model scores the same RMSE / std on both).
    "ml-100k-1to100": rescaled(_movielens("100k"), (1, 5), (1, 100)),
    "ml-1m": _movielens("1m"),
    "ml-latest-small": _movielens("latest-small"),
    "jester-1": load_jester,
    "movietweetings-100k": load_movietweetings,
    "ciaodvd": load_ciaodvd,
}


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """X and y of the data set called ``name`` (a key of ``LOADERS``)."""
    return LOADERS[name]()
