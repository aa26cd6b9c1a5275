"""Bad input gets a clear ValueError or TypeError naming the problem."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from sklearn_mf import MatrixFactorization

X_OK = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 1]])
Y_OK = np.array([5.0, 3.0, 4.0, 2.0, 1.0])


def _fit(X=X_OK, y=Y_OK, **fit_params):
    return MatrixFactorization(n_components=2, max_iter=2, random_state=0).fit(
        X, y, **fit_params
    )


@pytest.mark.parametrize(
    "X, error, match",
    [
        (X_OK[:, :1], ValueError, r"1 feature\(s\).*user ids.*item ids"),
        (X_OK[:, 0], ValueError, "Expected a 2D array"),
        (
            np.array([[0, np.nan], [1, 1], [1, 0], [2, 0], [2, 2]]),
            ValueError,
            "NaN.*item",
        ),
        (
            pd.DataFrame({"u": [0, None, 1, 1, 2], "i": [0, 1, 0, 1, 1]}, dtype=object),
            ValueError,
            "NaN or None.*user",
        ),
        (np.array([[0, 0, np.inf]] * 5), ValueError, "infinity.*feature"),
        (np.array([[0, 0, np.nan]] * 5), ValueError, "NaN.*feature"),
        (
            pd.DataFrame(
                {"u": [0, 0, 1, 1, 2], "i": [0, 1, 0, 1, 1], "f": list("abcde")}
            ),
            ValueError,
            "numeric",
        ),
        (sp.csr_matrix(X_OK), TypeError, "[Ss]parse"),
        (np.empty((0, 2)), ValueError, "0 sample"),
        (np.array([[0, {"a": 1}]] * 5, dtype=object), TypeError, "hashable"),
    ],
)
def test_bad_X_in_fit(X, error, match):
    with pytest.raises(error, match=match):
        _fit(X)


@pytest.mark.parametrize(
    "y, match",
    [
        ([5.0, np.nan, 4.0, 2.0, 1.0], "NaN"),
        ([5.0, np.inf, 4.0, 2.0, 1.0], "infinity"),
        ([5.0, 3.0, 4.0], "inconsistent numbers of samples"),
        (None, "requires y"),
        (["a", "b", "c", "d", "e"], "could not convert|Unable to convert"),
    ],
)
def test_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        _fit(y=y)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        ([1, -1, 1, 1, 1], "[Nn]egative"),
        ([0, 0, 0, 0, 0], "zero"),
        ([1, 1, 1], "sample_weight"),
        ([1, np.nan, 1, 1, 1], "NaN"),
    ],
)
def test_bad_sample_weight(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        _fit(sample_weight=sample_weight)


def test_predict_with_other_number_of_columns():
    model = _fit()
    with pytest.raises(
        ValueError, match="X has 3 features, but MatrixFactorization is expecting 2"
    ):
        model.predict(np.zeros((2, 3)))


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        MatrixFactorization().predict(X_OK)


def test_predict_with_bad_ids():
    model = _fit()
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([[0.0, np.nan]]))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": -1}, "n_components"),
        ({"solver": "adam"}, "solver"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha_bias": -0.1}, "alpha_bias"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MatrixFactorization(**params).fit(X_OK, Y_OK)


def test_early_stopping_needs_two_ratings():
    with pytest.raises(ValueError, match="early_stopping"):
        MatrixFactorization(early_stopping=True).fit(X_OK[:1], Y_OK[:1])
