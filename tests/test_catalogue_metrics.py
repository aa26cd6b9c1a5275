"""Full-catalogue top-N metrics against a brute-force ranking of every item."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings
from sklearn_mf.metrics import (
    catalogue_metrics,
    make_catalogue_scorer,
    precision_recall_at_cutoffs,
)
from sklearn_mf.model_selection import PerUserHoldout


@pytest.fixture(scope="module")
def split():
    X, y, _ = make_ratings(
        n_users=60, n_items=40, n_ratings=900, rating_range=(1, 5), random_state=0
    )
    train, test = next(PerUserHoldout(test_size=4, random_state=0).split(X))
    model = MatrixFactorization(n_components=3, alpha=0.1, clip=False, random_state=0)
    return model.fit(X[train], y[train]), X[train], X[test], y[test]


def _brute_force(model, X_train, X_test, y_test, k, threshold):
    """Every metric by its definition, ranking each user's unseen items by predict."""
    per_user = {m: [] for m in ("precision", "recall", "ndcg", "map", "mrr", "hit")}
    listed = set()
    for user in np.unique(X_test[:, 0]):
        mine = X_test[:, 0] == user
        relevant = {
            item
            for item, rating in zip(X_test[mine, 1], y_test[mine], strict=True)
            if threshold is None or rating >= threshold
        }
        if not relevant:
            continue
        seen = set(X_train[X_train[:, 0] == user, 1])
        candidates = [item for item in model.items_ if item not in seen]
        scores = model.predict(np.array([[user, item] for item in candidates]))
        # Best first; ties to the item listed first in items_.
        top = [candidates[j] for j in np.argsort(-scores, kind="stable")[:k]]
        listed.update(top)
        hits = [item in relevant for item in top]
        per_user["precision"].append(sum(hits) / k)
        per_user["recall"].append(sum(hits) / len(relevant))
        dcg = sum(1 / np.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        ideal = sum(1 / np.log2(rank + 2) for rank in range(min(len(relevant), k)))
        per_user["ndcg"].append(dcg / ideal)
        precisions = [sum(hits[: rank + 1]) / (rank + 1) for rank in range(k)]
        per_user["map"].append(
            sum(p for p, hit in zip(precisions, hits, strict=True) if hit)
            / min(len(relevant), k)
        )
        per_user["mrr"].append(1 / (hits.index(True) + 1) if any(hits) else 0.0)
        per_user["hit"].append(float(any(hits)))
    result = {name: np.mean(values) for name, values in per_user.items()}
    result["hit_rate"] = result.pop("hit")
    result["coverage"] = len(listed) / len(model.items_)
    result["n_users"] = len(per_user["precision"])
    return result


@pytest.mark.parametrize(("k", "threshold"), [(5, None), (10, 4.0), (1, 3.0)])
def test_metrics_match_a_brute_force_ranking(split, k, threshold):
    model, X_train, X_test, y_test = split
    got = catalogue_metrics(model, X_test, y_test, k=k, threshold=threshold)
    expected = _brute_force(model, X_train, X_test, y_test, k, threshold)
    assert got["k"] == k
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_the_curve_agrees_with_the_metrics_at_each_cutoff(split):
    model, _, X_test, y_test = split
    curve = precision_recall_at_cutoffs(model, X_test, y_test, cutoffs=(1, 3, 5, 10))
    np.testing.assert_array_equal(curve["cutoffs"], [1, 3, 5, 10])
    for cutoff, precision, recall in zip(
        curve["cutoffs"], curve["precision"], curve["recall"], strict=True
    ):
        at_k = catalogue_metrics(model, X_test, y_test, k=int(cutoff))
        assert precision == pytest.approx(at_k["precision"], abs=1e-12)
        assert recall == pytest.approx(at_k["recall"], abs=1e-12)
    assert (np.diff(curve["recall"]) >= 0).all()


def test_the_scorer_drives_a_grid_search():
    X, y, _ = make_ratings(n_users=60, n_items=40, n_ratings=900, random_state=1)
    search = GridSearchCV(
        MatrixFactorization(n_components=3, max_iter=5, tol=None, random_state=0),
        {"alpha": [0.05, 0.5]},
        cv=PerUserHoldout(test_size=3, n_splits=2, random_state=0),
        scoring={
            "ndcg": make_catalogue_scorer("ndcg", k=5),
            "map": make_catalogue_scorer("map", k=5),
        },
        refit="ndcg",
        error_score="raise",
    ).fit(X, y)
    for name in ("ndcg", "map"):
        scores = search.cv_results_[f"mean_test_{name}"]
        assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()


def test_clear_errors(split):
    model, _, X_test, y_test = split
    with pytest.raises(ValueError, match="needs the test ratings"):
        catalogue_metrics(model, X_test, threshold=4.0)
    with pytest.raises(ValueError, match="no test rows"):
        catalogue_metrics(model, X_test[:0])
    with pytest.raises(ValueError, match="No test user has a relevant item"):
        catalogue_metrics(model, X_test, y_test, threshold=100.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_catalogue_scorer("auc")
