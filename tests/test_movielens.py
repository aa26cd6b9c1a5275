"""The README's user story on real MovieLens 100K data (skips only outside CI)."""

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict

from sklearn_mf import MatrixFactorization


def _pooled_rmse(model, X, y) -> float:
    cv = KFold(5, shuffle=True, random_state=0)
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
