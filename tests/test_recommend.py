"""Top-N recommendation and item similarity."""

import numpy as np
import pytest

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
from sklearn_mf.datasets import make_ratings


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = make_ratings(
        n_users=60, n_items=40, n_ratings=1200, n_components=3, random_state=0
    )
    model = MatrixFactorization(n_components=3, clip=False, random_state=0).fit(X, y)
    return X, model


def _all_scores(model, users, items):
    pairs = np.array([(u, i) for u in users for i in items])
    return model.predict(pairs).reshape(len(users), len(items))


def _brute_force(model, X, users, items, n, exclude_seen):
    scores = _all_scores(model, users, items)
    best_ids, best_scores = [], []
    for row, user in enumerate(users):
        keep = np.ones(len(items), dtype=bool)
        if exclude_seen:
            keep &= ~np.isin(items, X[X[:, 0] == user, 1])
        columns = np.flatnonzero(keep)
        order = columns[np.argsort(-scores[row, columns], kind="stable")[:n]]
        best_ids.append(np.asarray(items)[order])
        best_scores.append(scores[row, order])
    return np.array(best_ids), np.array(best_scores)


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_recommend_matches_brute_force(fitted, exclude_seen):
    X, model = fitted
    users = [3, 0, 59, 3]
    ids, scores = model.recommend(users, n=7, exclude_seen=exclude_seen)
    want_ids, want_scores = _brute_force(model, X, users, model.items_, 7, exclude_seen)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-12)


def test_candidates_and_unknown_ids_use_the_fallbacks(fitted):
    X, model = fitted
    candidates = [39, 1000, 2, 5, 17]  # 1000 is unknown: scored by the user's bias
    ids, scores = model.recommend([1, 999], n=3, items=candidates, exclude_seen=False)
    want_ids, want_scores = _brute_force(model, X, [1], candidates, 3, False)
    np.testing.assert_array_equal(ids[:1], want_ids)
    np.testing.assert_allclose(scores[:1], want_scores, rtol=1e-12)
    # The unknown user gets the most rated candidates, scored by their fallback
    # ratings mu + b_i (mu for item 1000).
    counts = {item: int(np.sum(X[:, 1] == item)) for item in candidates}
    popular = sorted(candidates, key=lambda item: -counts[item])[:3]
    np.testing.assert_array_equal(ids[1], popular)
    bias = dict(zip(model.items_, model.item_bias_, strict=True))
    expected = [model.global_mean_ + bias.get(item, 0.0) for item in ids[1]]
    np.testing.assert_allclose(scores[1], expected, rtol=1e-12)


def test_recommend_excludes_what_each_user_rated(fitted):
    X, model = fitted
    ids, _ = model.recommend(model.users_, n=5)
    for user, row in zip(model.users_, ids, strict=True):
        assert not np.isin(row, X[X[:, 0] == user, 1]).any()
        assert len(set(row)) == 5


def test_string_ids_round_trip():
    X, y, _ = make_ratings(n_users=20, n_items=15, n_ratings=200, random_state=1)
    X = X.astype(object)
    X[:, 1] = [f"movie {i}" for i in X[:, 1]]
    model = MatrixFactorization(n_components=2, random_state=0).fit(X, y)
    ids, _ = model.recommend([X[0, 0]], n=3)
    assert all(isinstance(i, str) and i.startswith("movie ") for i in ids[0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "n must be at least 1"),
        ({"n": 2.5}, TypeError, "n must be an int"),
        ({"n": 40}, ValueError, "candidate items left for user"),
        ({"items": [1, 1, 2]}, ValueError, "must not repeat"),
        ({"exclude_seen": "yes"}, TypeError, "exclude_seen must be a bool"),
    ],
)
def test_recommend_rejects_bad_arguments(fitted, kwargs, error, match):
    _, model = fitted
    with pytest.raises(error, match=match):
        model.recommend([0, 1], **kwargs)


def test_recommend_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MatrixFactorization().recommend([0])


def test_similar_items_are_cosine_neighbours(fitted):
    _, model = fitted
    vectors = model._state.items.vectors
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ids, similarities = model.similar_items([0, 7], n=4)
    for row, item in enumerate([0, 7]):
        cosine = unit @ unit[item]
        cosine[item] = -np.inf
        order = np.argsort(-cosine, kind="stable")[:4]
        np.testing.assert_array_equal(ids[row], model.items_[order])
        np.testing.assert_allclose(similarities[row], cosine[order], rtol=1e-12)
    with pytest.raises(ValueError, match="unknown ids: \\[12345\\]"):
        model.similar_items([12345])
    with pytest.raises(ValueError, match="other training items"):
        model.similar_items([0], n=40)


def test_results_do_not_depend_on_n_jobs(fitted):
    X, _ = fitted
    y = np.random.RandomState(0).randint(1, 6, len(X)).astype(float)
    one = MatrixFactorization(n_components=3, n_jobs=1, random_state=0).fit(X, y)
    two = MatrixFactorization(n_components=3, n_jobs=2, random_state=0).fit(X, y)
    for a, b in zip(
        one.recommend(one.users_, n=5), two.recommend(two.users_, n=5), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_bayesian_estimator_recommends_too(fitted):
    X, _ = fitted
    y = np.random.RandomState(0).randint(1, 6, len(X)).astype(float)
    model = BayesianMatrixFactorization(
        n_components=3, n_iter=20, burn_in=5, clip=False, random_state=0
    ).fit(X, y)
    ids, scores = model.recommend([0, 1], n=4)
    want_ids, want_scores = _brute_force(model, X, [0, 1], model.items_, 4, True)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-10)
