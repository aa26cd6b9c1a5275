"""Ranking metrics and their scorers."""

import numpy as np
import pytest
from sklearn.metrics import ndcg_score
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings
from sklearn_mf.metrics import (
    make_ranking_scorer,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)


@pytest.fixture
def held_out():
    rng = np.random.RandomState(0)
    n = 400
    users = rng.choice(["ann", "bob", "cy", "dee", "eve", "fay"], n)
    y_true = rng.randint(1, 6, n).astype(float)
    y_score = rng.rand(n) * 5  # continuous: no ties
    return users, y_true, y_score


def _per_user(users, y_true, y_score, k, threshold):
    """(top-k relevance, number of ratings, number relevant) of each user with a
    relevant rating, by brute force."""
    for user in np.unique(users):
        mine = users == user
        relevant = y_true[mine] >= threshold
        if relevant.any():
            ranked = relevant[np.argsort(-y_score[mine], kind="stable")]
            yield ranked[:k], mine.sum(), relevant.sum()


@pytest.mark.parametrize("k", [1, 3, 10, 200])
def test_metrics_match_a_per_user_reference(held_out, k):
    users, y_true, y_score = held_out
    groups = list(_per_user(users, y_true, y_score, k, 4.0))
    precision = np.mean([top.sum() / min(k, n) for top, n, _ in groups])
    recall = np.mean([top.sum() / n_rel for top, _, n_rel in groups])
    assert precision_at_k(users, y_true, y_score, k=k) == pytest.approx(precision)
    assert recall_at_k(users, y_true, y_score, k=k) == pytest.approx(recall)


@pytest.mark.parametrize("k", [1, 3, 10, 200])
def test_ndcg_matches_scikit_learn_with_binary_gains(held_out, k):
    users, y_true, y_score = held_out
    expected = []
    for user in np.unique(users):
        mine = users == user
        gains = (y_true[mine] >= 4.0).astype(float)
        if gains.any():
            expected.append(ndcg_score([gains], [y_score[mine]], k=k))
    got = ndcg_at_k(users, y_true, y_score, k=k)
    assert got == pytest.approx(np.mean(expected))


def test_a_perfect_ranking_scores_one(held_out):
    users, y_true, _ = held_out
    assert ndcg_at_k(users, y_true, y_true + 0.0, k=5) == pytest.approx(1.0)
    assert recall_at_k(users, y_true, y_true, k=len(y_true)) == 1.0


def test_users_without_relevant_ratings_are_left_out():
    users = [1, 1, 2, 2]
    y_true = [5, 1, 2, 1]  # user 2 has nothing relevant
    y_score = [1.0, 2.0, 3.0, 4.0]
    assert precision_at_k(users, y_true, y_score, k=1) == 0.0
    assert recall_at_k(users, y_true, y_score, k=2) == 1.0
    with pytest.raises(ValueError, match="No user has a rating at or above"):
        ndcg_at_k(users, y_true, y_score, threshold=6)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([1, 2], [4, 5], [1.0]), {}, ValueError, "same length"),
        (([1, 2], [4, 5], [1.0, np.nan]), {}, ValueError, "y_score must be finite"),
        (([1, 2], ["a", "b"], [1.0, 2.0]), {}, TypeError, "y_true must be numeric"),
        (([[1, 2]], [4], [1.0]), {}, ValueError, "users must be one-dimensional"),
        (([1, None], [4, 5], [1.0, 2.0]), {}, ValueError, "missing values"),
        (([1, 2], [4, 5], [1.0, 2.0]), {"k": 0}, ValueError, "'k' parameter"),
        (([1, 2], [4, 5], [1.0, 2.0]), {"threshold": np.nan}, ValueError, "thresh"),
    ],
)
@pytest.mark.parametrize("metric", [precision_at_k, recall_at_k, ndcg_at_k])
def test_bad_input_raises_a_clear_error(metric, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        metric(*args, **kwargs)


def test_scorer_works_in_grid_search():
    X, y, _ = make_ratings(
        n_users=150, n_items=80, n_ratings=6000, n_components=3, random_state=0
    )
    scorer = make_ranking_scorer(ndcg_at_k, k=5)
    assert repr(scorer) == "make_ranking_scorer(ndcg_at_k, k=5, threshold=4.0)"
    search = GridSearchCV(
        MatrixFactorization(random_state=0),
        {"n_components": [0, 3]},
        scoring=scorer,
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    # The planted rank-3 structure ranks each user's items better than biases alone.
    assert search.best_params_ == {"n_components": 3}
    scores = search.cv_results_["mean_test_score"]
    assert 0 < scores.min() < scores.max() <= 1


def test_factorization_ranks_movielens_better_than_chance(ml100k):
    X, y = ml100k
    test = np.random.RandomState(0).rand(len(y)) < 0.2
    model = MatrixFactorization(random_state=0).fit(X[~test], y[~test])
    users = X[test].iloc[:, 0]
    ours = ndcg_at_k(users, y[test], model.predict(X[test]))
    chance = ndcg_at_k(users, y[test], np.random.RandomState(1).rand(test.sum()))
    assert ours > chance + 0.05
