"""The defaults on real rating data: the README's user story on MovieLens 100K, and
sparse CiaoDVD (skip only outside CI)."""

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict

from sklearn_mf import MatrixFactorization


def _pooled_rmse(model, X, y, n_splits: int = 5) -> float:
    cv = KFold(n_splits, shuffle=True, random_state=0)
    return float(np.sqrt(np.mean((cross_val_predict(model, X, y, cv=cv) - y) ** 2)))


def test_default_model_beats_the_bias_baseline_on_ml100k(ml100k):
    X, y = ml100k
    baseline = _pooled_rmse(MatrixFactorization(n_components=0, random_state=0), X, y)
    default = _pooled_rmse(MatrixFactorization(random_state=0), X, y)
    assert default < baseline - 0.01
    assert default < 0.925


def test_sgd_solver_beats_the_bias_baseline_on_ml100k(ml100k):
    X, y = ml100k
    baseline = _pooled_rmse(MatrixFactorization(n_components=0, random_state=0), X, y)
    sgd = _pooled_rmse(
        MatrixFactorization(
            solver="sgd", n_components=50, max_iter=30, tol=None, random_state=0
        ),
        X,
        y,
    )
    assert sgd < baseline


def test_grid_search_on_ml100k(ml100k):
    X, y = ml100k
    search = GridSearchCV(
        MatrixFactorization(random_state=0),
        {"n_components": [16, 64], "alpha": [0.02, 0.05]},
        cv=3,
        scoring="neg_root_mean_squared_error",
    ).fit(X, y)
    assert -search.best_score_ < 0.97
    assert search.best_estimator_.users_.shape == (943,)


def test_default_beats_the_bias_only_model_on_sparse_data(ciaodvd):
    # Most users and items have one rating: a factor model that overfits them loses
    # to the biases alone; alpha="auto" must not.
    X, y = ciaodvd
    bias_only = _pooled_rmse(
        MatrixFactorization(n_components=0, random_state=0), X, y, n_splits=3
    )
    default = _pooled_rmse(MatrixFactorization(random_state=0), X, y, n_splits=3)
    assert default <= bias_only


def test_default_is_the_same_model_on_another_rating_scale(ciaodvd):
    # 1..5 stars as 1..100 points: the same predictions in the new units.
    X, y = ciaodvd
    points = 1 + 99 * (y - 1) / 4
    stars = MatrixFactorization(random_state=0).fit(X, y)
    hundred = MatrixFactorization(random_state=0).fit(X, points)
    np.testing.assert_allclose(
        hundred.predict(X), 1 + 99 * (stars.predict(X) - 1) / 4, rtol=1e-6
    )
