"""The implicit-feedback term (SVD++): the y step, the estimator. Its kernels are
tested in ``kernels/test_implicit.py``."""

import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf._solvers._implicit import ImplicitTerm
from sklearn_mf._solvers._model import objective
from sklearn_mf.datasets import make_ratings
from tests._problems import dense_sums as _dense_sums


def _users_step(term, model, alpha, n_steps):
    """The users' term's CG steps on ``model.item_implicit``, everything else fixed."""
    term.step(
        model.item_implicit,
        model.coef,
        model.user_bias,
        model.item_bias,
        model.user_factors + term.sums(model.item_implicit),
        model.item_factors,
        alpha,
        n_steps,
    )


def test_implicit_step_solves_the_y_problem(small_data):
    data, model = small_data
    alpha = 0.3
    n_items, k = model.item_implicit.shape
    # The y problem as one dense weighted ridge regression on vec(y).
    dense = _dense_sums(data)
    residual = (
        data.target
        - model.user_bias[data.user_codes]
        - model.item_bias[data.item_codes]
        - np.einsum(
            "ij,ij->i",
            model.user_factors[data.user_codes],
            model.item_factors[data.item_codes],
        )
    )
    design = np.einsum(
        "rj,rf->rjf",
        dense[data.user_codes],
        model.item_factors[data.item_codes],
    ).reshape(len(residual), n_items * k)
    gram = design.T @ (data.weight[:, None] * design) + np.diag(
        np.repeat(alpha * data.item_weight, k)
    )
    expected = np.linalg.solve(gram, design.T @ (data.weight * residual))
    # Conjugate gradients solve an n-dimensional quadratic in n steps.
    _users_step(ImplicitTerm(data, "user"), model, alpha, n_items * k)
    np.testing.assert_allclose(
        model.item_implicit.ravel(), expected, rtol=1e-6, atol=1e-8
    )


def test_one_implicit_step_lowers_the_objective(small_data):
    data, model = small_data
    term = ImplicitTerm(data, "user")

    def loss():
        users = model.user_factors + term.sums(model.item_implicit)
        return objective(model, data, 0.1, 0.1, 0.5, users)

    before = loss()
    _users_step(term, model, 0.5, 1)
    assert loss() < before


@pytest.fixture(scope="module")
def planted():
    return make_ratings(
        n_users=200, n_items=120, n_ratings=8_000, n_components=3, random_state=0
    )


@pytest.mark.parametrize("sides", [True, "items", "both"])
@pytest.mark.parametrize("solver", ["als", "cg"])
def test_training_loss_never_increases(planted, solver, sides):
    X, y, _ = planted
    X = np.column_stack([X, np.random.RandomState(0).randn(len(y))])
    model = MatrixFactorization(
        n_components=4,
        solver=solver,
        implicit_feedback=sides,
        max_iter=12,
        tol=None,
        random_state=0,
    ).fit(X, y)
    assert np.all(np.diff(model.loss_curve_) <= 1e-12)


def _implicit_sums(rows, cols, weight, implicit):
    """sum_r w_r implicit[col(r)] / sqrt(sum_r w_r) for each row, by brute force."""
    sums = np.zeros((rows.max() + 1, implicit.shape[1]))
    np.add.at(sums, rows, weight[:, None] * implicit[cols])
    return sums / np.sqrt(np.bincount(rows, weights=weight))[:, None]


@pytest.mark.parametrize(
    "solver, sides",
    [
        ("cg", "users"),
        ("cg", "items"),
        ("cg", "both"),
        ("sgd", "users"),
        ("sgd", "items"),
    ],
)
def test_predictions_follow_the_documented_model(planted, solver, sides):
    X, y, _ = planted
    weight = np.random.RandomState(2).uniform(0.5, 2.0, len(y))
    model = MatrixFactorization(
        n_components=3,
        solver=solver,
        implicit_feedback=sides,
        clip=False,
        max_iter=5,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    users = np.searchsorted(model.users_, X[:, 0])
    items = np.searchsorted(model.items_, X[:, 1])
    user_vectors, item_vectors = model.user_factors_, model.item_factors_
    # The sums weigh the ratings by their relative weights (over the mean weight).
    relative = weight / weight.mean()
    if sides in ("users", "both"):
        # z_u = (sum_j w_uj)^(-1/2) sum_j w_uj y_j over the user's training ratings.
        user_vectors = user_vectors + _implicit_sums(
            users, items, relative, model.item_implicit_factors_
        )
    else:
        assert model.item_implicit_factors_ is None
    if sides in ("items", "both"):
        item_vectors = item_vectors + _implicit_sums(
            items, users, relative, model.user_implicit_factors_
        )
    else:
        assert model.user_implicit_factors_ is None
    expected = (
        model.global_mean_
        + model.user_bias_[users]
        + model.item_bias_[items]
        + np.einsum("ij,ij->i", user_vectors[users], item_vectors[items])
    )
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-10)


def test_unknown_ids_keep_the_bias_fallbacks(planted):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=3, implicit_feedback="both", clip=False, max_iter=3, random_state=0
    ).fit(X, y)
    item, user = model.items_[0], model.users_[0]
    prediction = model.predict(np.array([[10**6, item], [user, 10**6]]))
    np.testing.assert_allclose(
        prediction,
        [
            model.global_mean_ + model.item_bias_[0],
            model.global_mean_ + model.user_bias_[0],
        ],
    )


def test_attributes_are_none_without_implicit_feedback(planted):
    X, y, _ = planted
    model = MatrixFactorization(n_components=2, max_iter=2, random_state=0).fit(X, y)
    assert model.item_implicit_factors_ is None and model.user_implicit_factors_ is None


def test_alpha_implicit_defaults_to_ten_alpha(planted):
    X, y, _ = planted
    params = dict(n_components=3, implicit_feedback=True, max_iter=4, random_state=0)
    default = MatrixFactorization(alpha=0.05, **params).fit(X, y)
    explicit = MatrixFactorization(alpha=0.05, alpha_implicit=0.5, **params).fit(X, y)
    np.testing.assert_array_equal(default.predict(X), explicit.predict(X))


def test_warm_start_keeps_the_implicit_vectors(planted):
    X, y, _ = planted
    params = dict(n_components=3, implicit_feedback="both", max_iter=3, tol=None)
    model = MatrixFactorization(warm_start=True, random_state=0, **params).fit(X, y)
    first = model.loss_curve_[-1]
    model.fit(X, y)
    assert model.loss_curve_[0] < first * 1.001


def test_implicit_feedback_lowers_the_ml100k_error(ml100k):
    X, y = ml100k
    train = np.random.RandomState(0).rand(len(y)) < 0.8
    rmse = {}
    for implicit in (False, "users", "both"):
        model = MatrixFactorization(
            n_components=64, alpha=0.12, implicit_feedback=implicit, random_state=0
        ).fit(X[train], y[train])
        rmse[implicit] = np.sqrt(np.mean((model.predict(X[~train]) - y[~train]) ** 2))
    assert rmse["users"] < rmse[False] - 0.003
    assert rmse["both"] < rmse["users"] - 0.005
