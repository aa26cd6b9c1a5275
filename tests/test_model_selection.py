"""The recommender splitters: their invariants on real data, and their use as cv=."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_mf import MatrixFactorization
from sklearn_mf.model_selection import PerUserHoldout, PerUserKFold, TemporalSplit


@pytest.fixture(scope="module")
def ml100k_frame(movielens_home):
    from sklearn_mf.datasets import fetch_movielens

    frame = fetch_movielens("100k", download_if_missing=False).frame
    return frame[["user", "item", "timestamp"]], frame["rating"]


def _assert_partition(train, test, n_rows):
    assert np.intersect1d(train, test).size == 0
    assert np.union1d(train, test).size == n_rows
    assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()


def test_per_user_kfold_covers_every_tested_row_once(ml100k_frame):
    X, _ = ml100k_frame
    users = X["user"].to_numpy()
    counts = pd.Series(users).value_counts()
    cv = PerUserKFold(n_splits=5, random_state=0)
    tested = np.zeros(len(X), dtype=int)
    for train, test in cv.split(X):
        _assert_partition(train, test, len(X))
        # Every test user has training ratings in the same split.
        assert set(users[test]) <= set(users[train])
        tested[test] += 1
        # Each user's ratings are spread: at most ceil(n / 5) of them in a fold.
        per_user = pd.Series(users[test]).value_counts()
        assert (per_user <= np.ceil(counts[per_user.index] / 5)).all()
    assert (tested == 1).all()  # every ML-100K user has 20 ratings or more
    again = [test for _, test in PerUserKFold(5, random_state=0).split(X)]
    for (_, test), same in zip(cv.split(X), again, strict=True):
        np.testing.assert_array_equal(test, same)
    other = next(PerUserKFold(5, random_state=1).split(X))[1]
    assert not np.array_equal(other, again[0])


def test_per_user_kfold_keeps_single_rating_users_in_training():
    X = np.array([[0, 1], [0, 2], [0, 3], [1, 1], [2, 5], [2, 6]])
    for train, test in PerUserKFold(n_splits=3, random_state=0).split(X):
        assert 3 in train  # user 1's only rating
        assert set(X[test, 0]) <= set(X[train, 0])


@pytest.mark.parametrize("test_size", [1, 10, 0.2])
def test_per_user_holdout_holds_out_that_many_of_each_user(ml100k_frame, test_size):
    X, _ = ml100k_frame
    users = X["user"].to_numpy()
    counts = pd.Series(users).value_counts()
    cv = PerUserHoldout(test_size=test_size, n_splits=2, random_state=0)
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits() == 2
    for train, test in splits:
        _assert_partition(train, test, len(X))
        held = pd.Series(users[test]).value_counts().reindex(counts.index)
        expected = (
            np.ceil(test_size * counts) if isinstance(test_size, float) else test_size
        )
        np.testing.assert_array_equal(held, np.minimum(expected, counts - 1))
    assert not np.array_equal(splits[0][1], splits[1][1])  # repetitions differ


def test_per_user_holdout_by_time_holds_out_each_users_latest(ml100k_frame):
    X, _ = ml100k_frame
    train, test = next(PerUserHoldout(10, time_column="timestamp").split(X))
    _assert_partition(train, test, len(X))
    frame = X.assign(test=False)
    frame.iloc[test, frame.columns.get_loc("test")] = True
    for _, rows in frame.groupby("user"):
        assert rows["test"].sum() == 10
        assert rows.loc[rows["test"], "timestamp"].min() >= (
            rows.loc[~rows["test"], "timestamp"].max()
        )
    # By position, on an array, the same split.
    again = next(PerUserHoldout(10, time_column=2).split(X.to_numpy()))[1]
    np.testing.assert_array_equal(again, test)


def test_leave_one_out_keeps_users_with_one_rating_whole():
    X = np.array([[0, 1], [0, 2], [1, 1]])
    train, test = next(PerUserHoldout(test_size=1, random_state=0).split(X))
    assert 2 in train and X[test, 0].tolist() == [0]


def test_temporal_split_trains_on_the_past(ml100k_frame):
    X, _ = ml100k_frame
    cv = TemporalSplit(time_column="timestamp", test_size=0.1)
    ((train, test),) = list(cv.split(X))
    _assert_partition(train, test, len(X))
    times = X["timestamp"].to_numpy()
    assert times[train].max() < times[test].min()
    assert len(test) == pytest.approx(0.1 * len(X), rel=0.01)
    dates = X.assign(timestamp=pd.to_datetime(X["timestamp"], unit="s"))
    np.testing.assert_array_equal(next(cv.split(dates))[1], test)


def test_splitters_drive_model_selection(ml100k_frame):
    X, y = ml100k_frame
    X = X[["user", "item"]].iloc[:20_000]
    y = y.iloc[:20_000]
    model = MatrixFactorization(n_components=4, max_iter=3, tol=None, random_state=0)
    scores = cross_val_score(
        model, X, y, cv=PerUserHoldout(0.2, n_splits=2, random_state=0)
    )
    assert scores.shape == (2,) and np.isfinite(scores).all()
    search = GridSearchCV(
        model, {"alpha": [0.05, 0.2]}, cv=PerUserKFold(3, random_state=0)
    ).fit(X, y)
    assert search.cv_results_["split2_test_score"].shape == (2,)


@pytest.mark.parametrize(
    ("splitter", "message"),
    [
        (PerUserKFold(n_splits=1), "n_splits must be an int >= 2"),
        (PerUserHoldout(test_size=0), "test_size must be an int >= 1"),
        (PerUserHoldout(test_size=1.5), "test_size must be an int >= 1"),
        (PerUserHoldout(n_splits=2, time_column=2), "n_splits must be 1"),
        (PerUserHoldout(time_column="when"), "names a column"),
        (TemporalSplit(time_column=2, test_size=1.0), "test_size must be a float"),
    ],
)
def test_bad_settings_are_clear_errors(splitter, message):
    X = np.array([[0, 1, 5], [0, 2, 6], [1, 1, 7], [1, 2, 8]])
    with pytest.raises(ValueError, match=message):
        next(splitter.split(X))


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="no rows"):
        next(PerUserKFold().split(np.empty((0, 2))))
