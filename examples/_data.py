"""The examples' data: MovieLens 100K where SKLEARN_MF_DATA has it, else planted
ratings of the same shape."""

import pandas as pd

from sklearn_mf.datasets import fetch_movielens, make_ratings


def ratings() -> tuple[pd.DataFrame, pd.Series, str]:
    """``(X, y, name)``: the ``[user, item]`` rows, the ratings and where they come
    from."""
    try:
        X, y = fetch_movielens("100k", download_if_missing=False, return_X_y=True)
        return X, y, "MovieLens 100K"
    except OSError:
        X, y, _ = make_ratings(
            n_users=943,
            n_items=1682,
            n_ratings=100_000,
            noise=0.9,
            rating_range=(1, 5),
            as_frame=True,
            random_state=0,
        )
        return X, y, "planted ratings (make_ratings)"


def movies() -> pd.DataFrame | None:
    """MovieLens 100K's movie table (title, year, one column per genre), or None
    when the data is not at hand."""
    try:
        return fetch_movielens("100k", download_if_missing=False).movies
    except OSError:
        return None


def users() -> pd.DataFrame | None:
    """MovieLens 100K's user table (age, gender, occupation, zip), or None when the
    data is not at hand."""
    try:
        return fetch_movielens("100k", download_if_missing=False).users
    except OSError:
        return None
