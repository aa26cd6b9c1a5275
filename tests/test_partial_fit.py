"""partial_fit: folding new ratings, users and items into a fitted model."""

import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings

ALPHA_BIAS = 0.05


@pytest.fixture
def ratings():
    X, y, _ = make_ratings(
        n_users=40, n_items=25, n_ratings=500, n_components=3, random_state=0
    )
    return X, y


def _fitted(X, y, **params):
    return MatrixFactorization(n_components=3, random_state=0, **params).fit(X, y)


def _ridge(model, other_vectors, other_bias, target, weight):
    """The exact solution of one row's problem in rating units: (bias, vector)."""
    z = np.hstack([np.ones((len(target), 1)), other_vectors])
    # alpha is set for standardised ratings: in rating units it scales with them.
    penalty = np.full(z.shape[1], model.alpha_ * model.rating_scale_)
    penalty[0] = ALPHA_BIAS
    gram = z.T @ (weight[:, None] * z) + weight.sum() * np.diag(penalty)
    solution = np.linalg.solve(gram, z.T @ (weight * (target - other_bias)))
    return solution[0], solution[1:]


def _row(model, ids, value):
    return list(ids).index(value)


def _user_solution(model, X, y, weight, user):
    rows = X[:, 0] == user
    items = [_row(model, model.items_, i) for i in X[rows, 1]]
    return _ridge(
        model,
        model.item_factors_[items],
        model.item_bias_[items],
        y[rows] - model.global_mean_,
        weight[rows],
    )


def test_unfitted_partial_fit_is_fit(ratings):
    X, y = ratings
    first = MatrixFactorization(n_components=3, random_state=0).partial_fit(X, y)
    np.testing.assert_array_equal(first.predict(X), _fitted(X, y).predict(X))


def test_new_and_known_users_are_solved_against_all_their_ratings(ratings):
    X, y = ratings
    model = _fitted(X, y)
    items_before = model.item_factors_.copy()
    other_user = model.user_factors_[_row(model, model.users_, 5)].copy()
    new = np.array([[100, 3], [100, 8], [100, 11], [7, 20]])
    new_y = np.array([4.0, 1.5, 3.0, 5.0])
    model.partial_fit(new, new_y)
    assert model.users_[-1] == 100 and len(model.users_) == 41
    all_X, all_y = np.vstack([X, new]), np.concatenate([y, new_y])
    for user in (100, 7):  # a new user, and a known one with one more rating
        bias, vector = _user_solution(model, all_X, all_y, np.ones(len(all_y)), user)
        row = _row(model, model.users_, user)
        assert model.user_bias_[row] == pytest.approx(bias, rel=1e-9)
        np.testing.assert_allclose(model.user_factors_[row], vector, rtol=1e-8)
    # Known items and untouched users keep their values.
    np.testing.assert_array_equal(model.item_factors_, items_before)
    np.testing.assert_array_equal(
        model.user_factors_[_row(model, model.users_, 5)], other_user
    )
    # recommend knows what the new user rated.
    recommended = model.recommend([100], n=22)[0]
    assert not set(recommended[0]) & {3, 8, 11}


def test_new_items_are_solved_after_the_users(ratings):
    X, y = ratings
    model = _fitted(X, y)
    new = np.array([[1, "film"], [2, "film"], [3, "film"]], dtype=object)
    model.partial_fit(new, [5.0, 4.0, 5.0])
    assert model.items_[-1] == "film"
    users = [_row(model, model.users_, u) for u in (1, 2, 3)]
    bias, vector = _ridge(
        model,
        model.user_factors_[users],
        model.user_bias_[users],
        np.array([5.0, 4.0, 5.0]) - model.global_mean_,
        np.ones(3),
    )
    item = _row(model, model.items_, "film")
    assert model.item_bias_[item] == pytest.approx(bias, rel=1e-9)
    np.testing.assert_allclose(model.item_factors_[item], vector, rtol=1e-8)
    # A second call re-solves the item fit did not see, with all its ratings.
    model.partial_fit(np.array([[4, "film"]], dtype=object), [1.0])
    users = [_row(model, model.users_, u) for u in (1, 2, 3, 4)]
    bias, _ = _ridge(
        model,
        model.user_factors_[users],
        model.user_bias_[users],
        np.array([5.0, 4.0, 5.0, 1.0]) - model.global_mean_,
        np.ones(4),
    )
    assert model.item_bias_[model.items_.tolist().index("film")] == pytest.approx(
        bias, rel=1e-9
    )


def test_known_predictions_survive_the_reindexing(ratings):
    X, y = ratings
    model = _fitted(X, y)
    before = model.predict(X)
    # New string ids sort after the integers: every array is re-indexed.
    model.partial_fit(np.array([["zoe", "x"]], dtype=object), [3.0])
    np.testing.assert_allclose(model.predict(X), before, rtol=1e-12)


def test_integer_weights_equal_repeated_rows(ratings):
    X, y = ratings
    new = np.array([[100, 3], [100, 8]])
    weighted = _fitted(X, y).partial_fit(new, [4.0, 2.0], sample_weight=[2.0, 1.0])
    repeated = _fitted(X, y).partial_fit(new[[0, 0, 1]], [4.0, 4.0, 2.0])
    np.testing.assert_allclose(
        weighted.predict([[100, 5]]), repeated.predict([[100, 5]]), rtol=1e-10
    )


def test_fold_in_with_attribute_factors():
    rng = np.random.RandomState(0)
    n = 600
    users, items = rng.randint(30, size=n), rng.randint(20, size=n)
    group = users % 2
    y = 3 + np.where(group == items % 2, 1.0, -1.0) + 0.1 * rng.randn(n)
    X = np.column_stack([users, items, group])
    model = MatrixFactorization(
        n_components=2, feature_factors=True, clip=False, random_state=0
    ).fit(X, y)
    # The new user's vector starts from its attribute part, its prior.
    new = np.array([[99, 5, 1.0], [99, 7, 1.0]])
    model.partial_fit(new, [4.0, 4.0])
    row = _row(model, model.users_, 99)
    attribute_part = (1.0 - model._state.feature_mean) @ model.feature_factors_
    own = model._state.users.vectors[row] - attribute_part
    np.testing.assert_allclose(model.user_factors_[row], own, rtol=1e-10)
    # It predicts its group's taste (odd items) for items it has not rated.
    assert model.predict([[99, 9, 1.0]])[0] > model.predict([[99, 8, 1.0]])[0] + 0.5


def test_partial_fit_validates_its_input(ratings):
    X, y = ratings
    model = _fitted(X, y)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(np.array([[1, 2, 0.5]]), [3.0])
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit([[1, 2]], [np.nan])
    with pytest.raises(ValueError, match="Negative values"):
        model.partial_fit([[1, 2]], [3.0], sample_weight=[-1.0])


def test_not_available_with_implicit_feedback():
    model = MatrixFactorization(implicit_feedback=True)
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError) as error:
        model.partial_fit([[1, 2]], [3.0])
    assert "implicit_feedback=True" in str(error.value)
    assert hasattr(MatrixFactorization(), "partial_fit")


def test_fold_in_is_close_to_a_refit_on_ml100k(ml100k):
    X, y = ml100k
    X, y = X.to_numpy(), y.to_numpy()
    rng = np.random.RandomState(0)
    held = rng.choice(np.unique(X[:, 0]), size=90, replace=False)
    is_held = np.isin(X[:, 0], held)
    folded = np.zeros(len(y), dtype=bool)
    for user in held:
        folded[rng.choice(np.flatnonzero(X[:, 0] == user), 10, replace=False)] = True
    test = is_held & ~folded

    def rmse(model):
        return np.sqrt(np.mean((model.predict(X[test]) - y[test]) ** 2))

    model = MatrixFactorization(random_state=0).fit(X[~is_held], y[~is_held])
    cold = rmse(model)
    model.partial_fit(X[folded], y[folded])
    refit = MatrixFactorization(random_state=0).fit(
        X[~is_held | folded], y[~is_held | folded]
    )
    assert abs(rmse(model) - rmse(refit)) < 0.02
    assert rmse(model) < cold - 0.02  # the ten ratings do help
