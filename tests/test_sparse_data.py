"""The defaults on real sparse rating data (CiaoDVD; skips only outside CI)."""

import numpy as np
from sklearn.model_selection import KFold, cross_val_predict

from sklearn_mf import MatrixFactorization


def _pooled_rmse(model, X, y) -> float:
    cv = KFold(3, shuffle=True, random_state=0)
    return float(np.sqrt(np.mean((cross_val_predict(model, X, y, cv=cv) - y) ** 2)))


def test_default_beats_the_bias_only_model_on_sparse_data(ciaodvd):
    # Most users and items have one rating: a factor model that overfits them loses
    # to the biases alone; alpha="auto" must not.
    X, y = ciaodvd
    bias_only = _pooled_rmse(MatrixFactorization(n_components=0, random_state=0), X, y)
    default = _pooled_rmse(MatrixFactorization(random_state=0), X, y)
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
