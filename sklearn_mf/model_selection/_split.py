"""Recommender-aware cross-validation splitters over the user column of ``X``.

Each follows scikit-learn's splitter protocol (``split(X, y=None, groups=None)`` yields
``(train, test)`` row indices; ``get_n_splits``), so it serves as ``cv=`` in
``GridSearchCV`` and ``cross_val_score``. They read column 0 of ``X`` (the user id, as
the estimators do) and, for the time-based ones, a time column named by position or,
for DataFrames, by name.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._ids import canonical_ids, encode_ids
from ..utils._validation import as_2d


def _column(X, column, name: str) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        if isinstance(column, str):
            if column not in X.columns:
                raise ValueError(f"{name}={column!r} is not a column of X.")
            return X[column].to_numpy()
        return X.iloc[:, column].to_numpy()
    if isinstance(column, str):
        raise ValueError(
            f"{name}={column!r} names a column, which only a DataFrame X has; pass "
            "its position."
        )
    return X[:, column]


def _user_codes(X) -> tuple[np.ndarray, int]:
    """Each row's user code, and the number of users."""
    X = as_2d(X)
    if X.shape[0] == 0:
        raise ValueError("X has no rows to split.")
    users, codes = encode_ids(canonical_ids(_column(X, 0, "user column"), "user"))
    return codes, len(users)


def _times(X, time_column) -> np.ndarray:
    values = _column(as_2d(X), time_column, "time_column")
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    try:
        times = pd.to_numeric(pd.Series(values)).to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        times = pd.to_datetime(pd.Series(values)).to_numpy().astype(np.int64)
    if np.isnan(times).any():
        raise ValueError(f"The time column {time_column!r} of X has missing values.")
    return times


def _check_count(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
    return int(value)


def _rows_by_user(codes: np.ndarray, n_users: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_users + 1))
    return [order[bounds[u] : bounds[u + 1]] for u in range(n_users)]


class PerUserKFold:
    """K-fold cross-validation within each user's ratings.

    Each user's ratings are spread over the ``n_splits`` folds (shuffled, and starting
    at a random fold per user, so that users with few ratings do not all land in the
    first folds): every test user has training ratings in the same split, unlike
    scikit-learn's ``KFold`` over rows, where a user's ratings may all be held out.
    A user with a single rating is kept in training in every split (it could not be
    both trained and tested); a user with fewer ratings than ``n_splits`` is tested in
    only some of the splits.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles. Pass an int for reproducible splits.

    Examples
    --------
    >>> from sklearn_mf.datasets import make_ratings
    >>> from sklearn_mf.model_selection import PerUserKFold
    >>> X, y, _ = make_ratings(n_users=20, n_items=15, n_ratings=200, random_state=0)
    >>> cv = PerUserKFold(n_splits=4, random_state=0)
    >>> train, test = next(cv.split(X))
    >>> bool(set(X[test, 0]) <= set(X[train, 0]))
    True
    """

    def __init__(self, n_splits: int = 5, *, random_state=None):
        self.n_splits = n_splits
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return _check_count(self.n_splits, "n_splits", 2)

    def split(self, X, y=None, groups=None):
        n_splits = self.get_n_splits()
        codes, n_users = _user_codes(X)
        rng = check_random_state(self.random_state)
        fold = np.full(codes.shape[0], -1)
        for rows in _rows_by_user(codes, n_users):
            if rows.shape[0] < 2:
                continue
            shuffled = rng.permutation(rows)
            fold[shuffled] = (
                np.arange(rows.shape[0]) + rng.randint(n_splits)
            ) % n_splits
        everything = np.arange(codes.shape[0])
        for k in range(n_splits):
            yield everything[fold != k], everything[fold == k]

    def __repr__(self) -> str:
        return (
            f"PerUserKFold(n_splits={self.n_splits}, random_state={self.random_state})"
        )


class PerUserHoldout:
    """Hold out some of each user's ratings, ``n_splits`` times.

    Each split holds out ``test_size`` of each user's ratings: chosen at random, or
    the latest by ``time_column`` when given (ties broken by row order). Every user
    keeps at least one training rating: a user with no more ratings than the holdout
    asks for holds out all but one. ``PerUserHoldout(test_size=1)`` is leave-one-out
    per user (with a time column, the classic leave-last-out).

    Parameters
    ----------
    test_size : int or float, default=1
        Ratings held out per user: a count (int >= 1) or a share of the user's
        ratings (float in (0, 1), rounded up, at least one).

    n_splits : int, default=1
        Number of repetitions, each with its own random draw. With ``time_column``
        the holdout is the same every time, so it must be 1.

    time_column : int, str or None, default=None
        The column of ``X`` that orders each user's ratings in time (numbers,
        datetimes or date strings); None draws the held-out ratings at random.

    random_state : int, RandomState instance or None, default=None
        Seeds the draws. Pass an int for reproducible splits.

    Examples
    --------
    >>> from sklearn_mf.datasets import make_ratings
    >>> from sklearn_mf.model_selection import PerUserHoldout
    >>> X, y, _ = make_ratings(n_users=20, n_items=15, n_ratings=200, random_state=0)
    >>> train, test = next(PerUserHoldout(test_size=2, random_state=0).split(X))
    >>> len(test)
    40
    """

    def __init__(
        self, test_size=1, *, n_splits: int = 1, time_column=None, random_state=None
    ):
        self.test_size = test_size
        self.n_splits = n_splits
        self.time_column = time_column
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        n_splits = _check_count(self.n_splits, "n_splits", 1)
        if self.time_column is not None and n_splits != 1:
            raise ValueError(
                "With time_column, every repetition holds out the same latest "
                f"ratings: n_splits must be 1; got {n_splits}."
            )
        return n_splits

    def _n_test(self, n_ratings: int) -> int:
        size = self.test_size
        if isinstance(size, Integral) and not isinstance(size, bool) and size >= 1:
            wanted = int(size)
        elif isinstance(size, Real) and not isinstance(size, (bool, Integral)):
            if not 0 < size < 1:
                raise ValueError(
                    f"test_size must be an int >= 1 or a float in (0, 1); got {size}."
                )
            wanted = max(1, int(np.ceil(size * n_ratings)))
        else:
            raise ValueError(
                f"test_size must be an int >= 1 or a float in (0, 1); got {size!r}."
            )
        return min(wanted, n_ratings - 1)

    def split(self, X, y=None, groups=None):
        n_splits = self.get_n_splits()
        codes, n_users = _user_codes(X)
        times = None if self.time_column is None else _times(X, self.time_column)
        rng = check_random_state(self.random_state)
        by_user = _rows_by_user(codes, n_users)
        everything = np.arange(codes.shape[0])
        for _ in range(n_splits):
            is_test = np.zeros(codes.shape[0], dtype=bool)
            for rows in by_user:
                n_test = self._n_test(rows.shape[0])
                if n_test < 1:
                    continue
                if times is None:
                    held = rng.choice(rows, size=n_test, replace=False)
                else:
                    latest = np.argsort(times[rows], kind="stable")[-n_test:]
                    held = rows[latest]
                is_test[held] = True
            yield everything[~is_test], everything[is_test]

    def __repr__(self) -> str:
        return (
            f"PerUserHoldout(test_size={self.test_size}, n_splits={self.n_splits}, "
            f"time_column={self.time_column!r}, random_state={self.random_state})"
        )


class TemporalSplit:
    """Train on the ratings before a time, test on those from it on.

    One split over all users at once, as a system deployed at that time would see
    them: test users and items may be new (their predictions use the fallbacks).

    Parameters
    ----------
    time_column : int or str
        The column of ``X`` holding each rating's time (numbers, datetimes or date
        strings).

    test_size : float, default=0.2
        Share of the ratings, the latest, in the test side; the split time is the
        time of the earliest of them, and ratings at that same time all go to test.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mf.model_selection import TemporalSplit
    >>> X = np.array([[0, 1, 10], [0, 2, 30], [1, 1, 20], [1, 3, 40]])
    >>> train, test = next(TemporalSplit(time_column=2, test_size=0.5).split(X))
    >>> train.tolist(), test.tolist()
    ([0, 2], [1, 3])
    """

    def __init__(self, time_column, *, test_size: float = 0.2):
        self.time_column = time_column
        self.test_size = test_size

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return 1

    def split(self, X, y=None, groups=None):
        size = self.test_size
        if isinstance(size, bool) or not isinstance(size, Real) or not 0 < size < 1:
            raise ValueError(f"test_size must be a float in (0, 1); got {size!r}.")
        times = _times(X, self.time_column)
        n_test = max(1, int(np.ceil(size * times.shape[0])))
        if n_test >= times.shape[0]:
            raise ValueError("TemporalSplit needs at least 2 rows.")
        split_time = np.sort(times)[times.shape[0] - n_test]
        everything = np.arange(times.shape[0])
        is_test = times >= split_time
        if is_test.all():
            raise ValueError(
                "Every rating is at the split time: no earlier rating to train on."
            )
        yield everything[~is_test], everything[is_test]

    def __repr__(self) -> str:
        return (
            f"TemporalSplit(time_column={self.time_column!r}, "
            f"test_size={self.test_size})"
        )
