"""Ranking metrics follow the estimators' id contract: any hashable user ids."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, cross_val_score

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings
from sklearn_mf.metrics import (
    make_ranking_scorer,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

METRICS = [precision_at_k, recall_at_k, ndcg_at_k]

# Distinct ids of many kinds; "1" and 1 are two ids, 2.0 is the int 2.
MIXED_IDS = [1, "a", 2.0, "1", (3, "x"), 7.5, frozenset({4}), b"raw", -5, "é"]


def _reference(metric, codes, y_true, y_score, k, threshold=4.0):
    """The metric by brute force over integer user codes."""
    values = []
    for user in np.unique(codes):
        mine = codes == user
        relevant = y_true[mine] >= threshold
        if not relevant.any():
            continue
        ranked = relevant[np.argsort(-y_score[mine], kind="stable")]
        hits = ranked[:k].sum()
        if metric is precision_at_k:
            values.append(hits / min(k, mine.sum()))
        elif metric is recall_at_k:
            values.append(hits / relevant.sum())
        else:
            discount = 1.0 / np.log2(np.arange(2, k + 2))[: ranked[:k].size]
            dcg = (ranked[:k] * discount).sum()
            ideal = discount[: min(k, relevant.sum())].sum()
            values.append(dcg / ideal)
    return np.mean(values)


def _object_array(values):
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


@pytest.fixture
def mixed_held_out():
    rng = np.random.RandomState(0)
    n = 300
    codes = rng.randint(0, len(MIXED_IDS), n)
    users = [MIXED_IDS[c] for c in codes]
    y_true = rng.randint(1, 6, n).astype(float)
    y_score = np.round(rng.rand(n) * 5, 1)  # ties, kept in input order
    return users, codes, y_true, y_score


@pytest.mark.parametrize("k", [1, 3, 10, 500])
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("container", ["list", "object array", "series"])
def test_mixed_ids_match_the_same_data_with_int_ids(
    mixed_held_out, metric, k, container
):
    users, codes, y_true, y_score = mixed_held_out
    if container == "object array":
        users = _object_array(users)
    elif container == "series":
        users = pd.Series(_object_array(users))
    expected = _reference(metric, codes, y_true, y_score, k)
    got = metric(users, y_true, y_score, k=k)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got == pytest.approx(metric(codes, y_true, y_score, k=k), rel=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_an_integral_float_and_the_equal_int_are_one_user(metric):
    y_true = [5, 1, 4, 2, 5, 3]
    y_score = [0.1, 0.9, 0.5, 0.4, 0.2, 0.3]
    as_ints = metric([1, 1, 1, 2, 2, 2], y_true, y_score, k=2)
    for users in (
        [1, 1.0, np.float64(1.0), 2.0, 2, np.int32(2)],
        np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]),
        _object_array([1, 1.0, np.int64(1), 2.0, 2, np.float32(2.0)]),
    ):
        assert metric(users, y_true, y_score, k=2) == as_ints


@pytest.mark.parametrize("metric", METRICS)
def test_a_string_and_the_equal_int_are_two_users(metric):
    y_true = [5, 1, 1, 5]
    y_score = [0.1, 0.9, 0.2, 0.8]
    two_users = metric([0, 0, 1, 1], y_true, y_score, k=1)
    assert metric(["1", "1", 1, 1], y_true, y_score, k=1) == two_users
    assert metric([1, 1, "1", "1"], y_true, y_score, k=1) == two_users
    one_user = metric([0, 0, 0, 0], y_true, y_score, k=1)
    assert one_user != two_users


def test_precision_of_string_and_int_ids_by_hand():
    # User 1 ranks its relevant item first; user "1" has nothing relevant and is left
    # out. Merging them (as a str conversion would) gives 0 instead.
    assert precision_at_k([1, "1"], [5, 1], [1.0, 2.0], k=1) == 1.0


@pytest.mark.parametrize("metric", METRICS)
def test_tuple_ids_are_users(metric):
    y_true = np.array([5, 1, 4, 2, 5, 3], dtype=float)
    y_score = np.array([0.1, 0.9, 0.5, 0.4, 0.2, 0.3])
    tuples = [(1, "a"), (1, "a"), (2, "b"), (2, "b"), (1, "a"), (3,)]
    codes = np.array([0, 0, 1, 1, 0, 2])
    expected = metric(codes, y_true, y_score, k=2)
    assert expected == pytest.approx(_reference(metric, codes, y_true, y_score, 2))
    for users in (tuples, tuple(tuples), _object_array(tuples), pd.Series(tuples)):
        assert metric(users, y_true, y_score, k=2) == expected


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("empty", [[], np.array([]), pd.Series([], dtype=object)])
def test_empty_input_raises_a_value_error_naming_the_arguments(metric, empty):
    with pytest.raises(ValueError, match="users, y_true and y_score are empty"):
        metric(empty, [], [])


@pytest.mark.parametrize("metric", METRICS)
def test_mismatched_lengths_name_the_arguments(metric):
    match = "users, y_true and y_score must have the same length; got 3, 2 and 3"
    with pytest.raises(ValueError, match=match):
        metric([1, "a", 2.0], [4, 5], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="same length; got 0, 1 and 1"):
        metric([], [4], [1.0])


@pytest.mark.parametrize("bad", [np.nan, None, np.inf])
@pytest.mark.parametrize("argument", ["y_true", "y_score"])
@pytest.mark.parametrize("metric", METRICS)
def test_missing_or_infinite_ratings_raise(metric, argument, bad):
    values = {"y_true": [4, 5], "y_score": [1.0, 2.0]}
    values[argument] = [values[argument][0], bad]
    with pytest.raises(ValueError, match=f"{argument} must be finite"):
        metric(["a", 1], values["y_true"], values["y_score"])


@pytest.mark.parametrize(
    "users, error, match",
    [
        (["a", None], ValueError, "users must not hold missing values"),
        ([1, np.nan], ValueError, "users must not hold missing values"),
        (np.array([1.0, np.inf]), ValueError, "users holds an invalid id.*infinity"),
        ([1, {"a": 1}], TypeError, "users holds an invalid id.*hashable"),
        ([[1], [2]], ValueError, "users must be one-dimensional"),
    ],
)
@pytest.mark.parametrize("metric", METRICS)
def test_unusable_user_ids_raise(metric, users, error, match):
    with pytest.raises(error, match=match):
        metric(users, [4, 5], [1.0, 2.0])


@pytest.mark.parametrize("k", [0, -1, 2.5, "3", None])
@pytest.mark.parametrize("metric", METRICS)
def test_bad_k_raises(metric, k):
    with pytest.raises(ValueError, match="'k' parameter"):
        metric([1, "a"], [4, 5], [1.0, 2.0], k=k)
    with pytest.raises(ValueError, match="'k' parameter"):
        make_ranking_scorer(metric, k=k)


@pytest.mark.parametrize("metric", METRICS)
def test_a_huge_k_is_the_same_as_every_item(metric):
    users, y_true, y_score = [1, "a", 1, "a"], [5, 4, 1, 5], [0.2, 0.1, 0.9, 0.5]
    every = metric(users, y_true, y_score, k=4)
    assert metric(users, y_true, y_score, k=10**15) == every


def _mixed_ratings():
    """Ratings whose user ids are ints for even users and strings for odd ones."""
    X, y, _ = make_ratings(
        n_users=40, n_items=30, n_ratings=1200, n_components=2, random_state=0
    )
    int_users = X[:, 0]
    users = _object_array(
        [int(u) if u % 2 == 0 else f"user-{u}" for u in int_users.tolist()]
    )
    X_mixed = np.empty(X.shape, dtype=object)
    X_mixed[:, 0] = users
    X_mixed[:, 1] = X[:, 1]
    return X_mixed, y, int_users


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("as_frame", [False, True])
def test_cross_val_score_with_mixed_user_ids_gives_finite_scores(metric, as_frame):
    X, y, _ = _mixed_ratings()
    if as_frame:
        X = pd.DataFrame({"user": X[:, 0], "item": X[:, 1]})
    scores = cross_val_score(
        MatrixFactorization(n_components=2, max_iter=5, random_state=0),
        X,
        y,
        scoring=make_ranking_scorer(metric, k=5, threshold=3.0),
        cv=KFold(3, shuffle=True, random_state=0),
        error_score="raise",
    )
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    assert np.all((0 <= scores) & (scores <= 1))


def test_the_scorer_groups_mixed_ids_like_their_int_codes():
    X, y, int_users = _mixed_ratings()
    model = MatrixFactorization(n_components=2, max_iter=5, random_state=0).fit(X, y)
    scorer = make_ranking_scorer(ndcg_at_k, k=5, threshold=3.0)
    expected = ndcg_at_k(int_users, y, model.predict(X), k=5, threshold=3.0)
    assert scorer(model, X, y) == pytest.approx(expected, rel=1e-12)
    # A list of mixed rows keeps each id's type, as the estimators read it.
    assert scorer(model, X.tolist(), y) == pytest.approx(expected, rel=1e-12)
