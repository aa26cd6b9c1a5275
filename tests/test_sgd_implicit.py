"""SGD with an implicit-feedback term (SVD++ as Surprise fits it)."""

import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf._solvers._sgd_implicit import _pair_weights
from sklearn_mf.datasets import make_ratings


def test_pair_weights_sum_repeated_pairs_within_a_row():
    indptr = np.array([0, 3, 5])
    other = np.array([1, 1, 4, 4, 7])  # row 0 rates column 1 twice
    weight = np.array([0.5, 2.0, 1.0, 3.0, 1.5])
    pair_weight, row_of = _pair_weights(indptr, other, weight)
    np.testing.assert_allclose(pair_weight, [2.5, 2.5, 1.0, 3.0, 1.5])
    np.testing.assert_array_equal(row_of, [0, 0, 0, 1, 1])


@pytest.fixture(scope="module")
def planted():
    return make_ratings(
        n_users=200, n_items=120, n_ratings=8_000, n_components=3, random_state=0
    )


@pytest.mark.parametrize("sides", [True, "items"])
def test_results_do_not_depend_on_n_jobs(planted, sides):
    X, y, _ = planted
    params = dict(solver="sgd", implicit_feedback=sides, max_iter=5, random_state=3)
    one = MatrixFactorization(n_jobs=1, **params).fit(X, y)
    two = MatrixFactorization(n_jobs=2, **params).fit(X, y)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
    assert one.loss_curve_ == two.loss_curve_


def test_sgd_takes_one_implicit_term_only(planted):
    X, y, _ = planted
    with pytest.raises(ValueError, match="solver='sgd' takes one implicit term"):
        MatrixFactorization(solver="sgd", implicit_feedback="both").fit(X, y)


def test_implicit_feedback_lowers_the_ml100k_error_at_surprise_settings(ml100k):
    """Surprise SVDpp's settings: 20 factors, 20 epochs, lr 0.007, reg 0.02."""
    X, y = ml100k
    train = np.random.RandomState(0).rand(len(y)) < 0.8
    params = dict(
        solver="sgd",
        n_components=20,
        max_iter=20,
        tol=None,
        learning_rate=0.007,
        alpha=0.02,
        alpha_bias=0.02,
        random_state=0,
    )
    rmse = {}
    for implicit in (False, True, "items"):
        model = MatrixFactorization(implicit_feedback=implicit, **params)
        model.fit(X[train], y[train])
        rmse[implicit] = np.sqrt(np.mean((model.predict(X[~train]) - y[~train]) ** 2))
    assert rmse[True] < rmse[False] - 0.005
    assert rmse["items"] < rmse[False] - 0.005
