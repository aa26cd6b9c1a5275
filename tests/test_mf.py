"""MatrixFactorization over both solvers: objective, recovery, fallbacks, training control."""

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_mf import MatrixFactorization
from sklearn_mf._solvers import _als
from sklearn_mf.datasets import make_ratings

SOLVERS = ["als", "cg", "sgd"]
FITTED = [
    "global_mean_",
    "user_bias_",
    "item_bias_",
    "user_factors_",
    "item_factors_",
    "users_",
    "items_",
    "coef_",
    "rating_range_",
    "n_iter_",
    "loss_curve_",
]


@pytest.fixture(scope="module")
def planted():
    X, y, truth = make_ratings(
        n_users=300,
        n_items=200,
        n_ratings=24_000,
        n_components=4,
        noise=0.3,
        random_state=0,
    )
    return X, y, truth


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_recovers_a_planted_low_rank_problem(planted):
    X, y, truth = planted
    train, test = slice(0, 20_000), slice(20_000, None)
    model = MatrixFactorization(
        n_components=4, alpha=0.01, alpha_bias=0.01, random_state=0
    )
    model.fit(X[train], y[train])
    noiseless = (
        truth.global_mean
        + truth.user_bias[X[test, 0]]
        + truth.item_bias[X[test, 1]]
        + np.einsum(
            "ij,ij->i", truth.user_factors[X[test, 0]], truth.item_factors[X[test, 1]]
        )
    )
    # The test RMSE against noisy ratings can't beat the noise; it must come within
    # 10% of it, and the error against the noiseless ratings must be small.
    assert _rmse(model.predict(X[test]), y[test]) <= 1.1 * truth.noise
    assert _rmse(model.predict(X[test]), noiseless) < 0.5 * truth.noise


@pytest.mark.parametrize("with_features", [False, True])
@pytest.mark.parametrize("solver", ["als", "cg"])
def test_alternating_training_loss_never_increases(planted, solver, with_features):
    X, y, _ = planted
    if with_features:
        X = np.column_stack([X, np.random.RandomState(0).randn(len(y))])
    model = MatrixFactorization(
        n_components=8, solver=solver, max_iter=15, tol=None, random_state=0
    ).fit(X, y)
    assert len(model.loss_curve_) == 15
    assert np.all(np.diff(model.loss_curve_) <= 1e-12)


@pytest.mark.parametrize("options", [{}, {"implicit_feedback": "both"}])
def test_cg_reads_large_factor_matrices_in_float32(planted, monkeypatch, options):
    X, y, _ = planted
    params = dict(
        n_components=8, alpha=0.08, max_iter=10, tol=None, random_state=0, **options
    )
    exact = MatrixFactorization(**params).fit(X, y)
    # Every matrix counts as large: the path fits of millions of ratings take.
    monkeypatch.setattr(_als, "FLOAT32_GATHER_BYTES", 0)
    rounded = MatrixFactorization(**params).fit(X, y)
    np.testing.assert_allclose(rounded.loss_curve_, exact.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(rounded.predict(X), exact.predict(X), atol=1e-4)
    assert rounded.user_factors_.dtype == np.float64


@pytest.mark.parametrize("with_features", [False, True])
def test_both_solvers_reach_the_same_objective(planted, with_features):
    X, y, _ = planted
    if with_features:
        # A weighted feature column with a real effect on the ratings.
        feature = np.random.RandomState(0).randn(len(y))
        X, y = np.column_stack([X, feature]), y + 0.3 * feature
    weight = np.random.RandomState(1).uniform(0.5, 1.5, len(y))
    params = dict(n_components=4, alpha=0.05, alpha_bias=0.02, random_state=0, tol=None)
    als = MatrixFactorization(solver="als", max_iter=30, **params)
    als.fit(X, y, sample_weight=weight)
    cg = MatrixFactorization(solver="cg", max_iter=30, **params)
    cg.fit(X, y, sample_weight=weight)
    sgd = MatrixFactorization(solver="sgd", max_iter=150, learning_rate=0.01, **params)
    sgd.fit(X, y, sample_weight=weight)
    # The loss curves hold the documented objective divided by the total weight;
    # SGD's holds the errors met during its epoch, which run a little higher.
    assert sgd.loss_curve_[-1] == pytest.approx(als.loss_curve_[-1], rel=0.03)
    assert cg.loss_curve_[-1] == pytest.approx(als.loss_curve_[-1], rel=0.001)
    # Both reach the same minimum, up to SGD's step noise.
    assert np.mean(np.abs(sgd.predict(X) - als.predict(X))) < 0.02
    if with_features:
        assert sgd.coef_[0] == pytest.approx(als.coef_[0], rel=0.05)


def test_loss_curve_is_the_documented_objective():
    X = np.array([[0, 0], [0, 1], [1, 0], [2, 1]])
    y = np.array([4.0, 2.0, 5.0, 3.0])
    w = np.array([1.0, 2.0, 0.5, 1.0])
    model = MatrixFactorization(
        n_components=2,
        alpha=0.1,
        alpha_bias=0.05,
        max_iter=3,
        tol=None,
        clip=False,
        random_state=0,
    )
    model.fit(X, y, sample_weight=w)
    pred = model.predict(X)
    counts_u = np.bincount(X[:, 0], weights=w)
    counts_i = np.bincount(X[:, 1], weights=w)
    # In rating units the factors' penalty is alpha times the ratings' spread.
    spread = np.sqrt(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    assert model.rating_scale_ == pytest.approx(spread, rel=1e-12)
    expected = (
        w @ (y - pred) ** 2
        + 0.1
        * spread
        * (
            counts_u @ (model.user_factors_**2).sum(1)
            + counts_i @ (model.item_factors_**2).sum(1)
        )
        + 0.05 * (counts_u @ model.user_bias_**2 + counts_i @ model.item_bias_**2)
    ) / w.sum()
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-9)
    assert model.global_mean_ == pytest.approx(np.average(y, weights=w))


@pytest.mark.parametrize("solver", SOLVERS)
def test_unknown_ids_use_the_documented_fallbacks(planted, solver):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=4, solver=solver, max_iter=5, random_state=0
    ).fit(X, y)
    user, item = X[0]
    u = np.searchsorted(model.users_, user)
    i = np.searchsorted(model.items_, item)
    queries = np.array([[user, item], [-1, item], [user, -1], [-1, -2]])
    pred = MatrixFactorization.predict(model.set_params(clip=False), queries)
    mu = model.global_mean_
    expected = [
        mu
        + model.user_bias_[u]
        + model.item_bias_[i]
        + model.user_factors_[u] @ model.item_factors_[i],
        mu + model.item_bias_[i],
        mu + model.user_bias_[u],
        mu,
    ]
    np.testing.assert_allclose(pred, expected, rtol=1e-12)


def test_unknown_ids_with_features_add_the_feature_term():
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [rng.randint(0, 30, 500), rng.randint(0, 20, 500), rng.randn(500)]
    )
    y = 3 + 0.8 * X[:, 2] + 0.1 * rng.randn(500)
    model = MatrixFactorization(
        n_components=2, max_iter=10, random_state=0, clip=False
    ).fit(X, y)
    assert model.coef_[0] == pytest.approx(0.8, abs=0.1)
    new = np.array([[99, 99, 1.0], [99, 99, -1.0]])
    pred = model.predict(new)
    assert pred[0] - pred[1] == pytest.approx(2 * model.coef_[0])


def test_predictions_are_clipped_to_the_training_range(planted):
    X, y, _ = planted
    model = MatrixFactorization(n_components=4, max_iter=5, random_state=0).fit(X, y)
    assert model.rating_range_ == (y.min(), y.max())
    extreme = np.array([[X[0, 0], X[0, 1], *([0.0] * 0)]])
    pred = model.predict(extreme)
    assert y.min() <= pred[0] <= y.max()
    # Push every known user far out of range (the fitted arrays are read-only).
    state = model._state
    users = dataclasses.replace(state.users, bias=state.users.bias + 100)
    model._install(dataclasses.replace(state, users=users))
    assert model.predict(X[:50]).max() == y.max()
    assert model.set_params(clip=False).predict(X[:50]).max() > y.max()


@pytest.mark.filterwarnings("ignore:.*unknown to the model")
def test_string_int_and_mixed_ids():
    X = pd.DataFrame(
        {"user": ["a", "b", "a", "c", 7, 7], "item": [1, 2, 2, 1.0, "x", 1]}
    )
    y = [5, 3, 4, 2, 1, 3]
    model = MatrixFactorization(n_components=2, random_state=0, max_iter=3).fit(X, y)
    assert list(model.users_) == [7, "a", "b", "c"]
    assert list(model.items_) == [1, 2, "x"]
    # 1.0 and 1 are one item; "1" is an unknown item.
    a = model.predict(pd.DataFrame({"user": ["a", "a"], "item": [1, 1.0]}))
    assert a[0] == a[1]
    unknown = model.predict(pd.DataFrame({"user": ["a"], "item": ["1"]}))
    u = list(model.users_).index("a")
    assert unknown[0] == pytest.approx(
        np.clip(model.global_mean_ + model.user_bias_[u], 1, 5)
    )


def test_numpy_list_and_dataframe_inputs_agree(planted):
    X, y, _ = planted
    X, y = X[:2000], y[:2000]
    params = dict(n_components=3, max_iter=4, random_state=0)
    from_array = MatrixFactorization(**params).fit(X, y).predict(X)
    from_list = (
        MatrixFactorization(**params).fit(X.tolist(), list(y)).predict(X.tolist())
    )
    frame = pd.DataFrame(X, columns=["user", "item"])
    from_frame = MatrixFactorization(**params).fit(frame, pd.Series(y)).predict(frame)
    from_floats = MatrixFactorization(**params).fit(X.astype(float), y).predict(X)
    np.testing.assert_array_equal(from_array, from_list)
    np.testing.assert_array_equal(from_array, from_frame)
    np.testing.assert_array_equal(from_array, from_floats)


@pytest.mark.parametrize("solver", SOLVERS)
def test_reproducible_for_any_n_jobs(planted, solver):
    X, y, _ = planted
    fits = [
        MatrixFactorization(
            n_components=6, solver=solver, max_iter=4, n_jobs=n_jobs, random_state=3
        ).fit(X, y)
        for n_jobs in (1, 2, -1)
    ]
    for other in fits[1:]:
        for name in FITTED:
            np.testing.assert_array_equal(
                getattr(fits[0], name), getattr(other, name), err_msg=name
            )


@pytest.mark.parametrize("solver", SOLVERS)
def test_random_state_changes_the_result(planted, solver):
    X, y, _ = planted
    a = MatrixFactorization(
        n_components=4, solver=solver, max_iter=2, random_state=0
    ).fit(X, y)
    b = MatrixFactorization(
        n_components=4, solver=solver, max_iter=2, random_state=1
    ).fit(X, y)
    assert not np.array_equal(a.user_factors_, b.user_factors_)


def test_integer_weights_equal_repeated_rows(planted):
    X, y, _ = planted
    X, y = X[:3000], y[:3000]
    weight = np.random.RandomState(0).randint(0, 3, len(y))
    # A fixed alpha: "auto" holds out a random slice, which differs between the two.
    params = dict(n_components=4, alpha=0.1, max_iter=6, tol=None, random_state=0)
    weighted = MatrixFactorization(**params).fit(X, y, sample_weight=weight)
    repeated = MatrixFactorization(**params).fit(
        np.repeat(X, weight, axis=0), np.repeat(y, weight)
    )
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_zero_weight_rows_are_ignored(solver):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])
    y = np.array([5.0, 1.0, 4.0, 2.0, 1.0])
    model = MatrixFactorization(
        n_components=2, solver=solver, max_iter=5, random_state=0
    )
    model.fit(X, y, sample_weight=[1, 1, 1, 1, 0])
    assert model.global_mean_ == pytest.approx(3.0)
    # User 2 only has a zero-weight rating: it is predicted like an unknown user.
    assert (
        model.user_bias_[2] == 0 and not model.user_factors_[2].any() or solver == "sgd"
    )
    assert (
        model.predict([[2, 1]]) == pytest.approx(model.predict([[99, 1]]), abs=1e-9)
        or solver == "sgd"
    )


def test_n_components_zero_fits_biases_only(planted):
    X, y, _ = planted
    model = MatrixFactorization(n_components=0, random_state=0).fit(X, y)
    assert model.user_factors_.shape == (len(model.users_), 0)
    assert _rmse(model.predict(X), y) < np.std(y)


def test_fit_bias_false_keeps_biases_at_zero(planted):
    X, y, _ = planted
    for solver in SOLVERS:
        model = MatrixFactorization(
            n_components=4, fit_bias=False, solver=solver, max_iter=3, random_state=0
        )
        model.fit(X, y)
        assert not model.user_bias_.any() and not model.item_bias_.any()


@pytest.mark.parametrize("solver", SOLVERS)
def test_early_stopping_keeps_the_best_validation_model(planted, solver):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=4,
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_iter=60,
        learning_rate=0.02,
        random_state=0,
    ).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ < 60
    # Training stopped because the validation RMSE stopped improving.
    assert min(model.validation_scores_[-2:]) >= min(model.validation_scores_) * (
        1 - 1e-3
    )


def test_validation_scores_is_none_without_early_stopping(planted):
    X, y, _ = planted
    assert (
        MatrixFactorization(max_iter=2, random_state=0).fit(X, y).validation_scores_
        is None
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_continues_from_the_previous_solution(planted, solver):
    X, y, _ = planted
    params = dict(n_components=4, solver=solver, max_iter=3, tol=None, random_state=0)
    model = MatrixFactorization(warm_start=True, **params).fit(X, y)
    first = model.loss_curve_[-1]
    model.fit(X, y)
    assert model.loss_curve_[0] < first * 1.001
    cold = MatrixFactorization(**params).fit(X, y)
    assert model.loss_curve_[-1] < cold.loss_curve_[-1]


def test_warm_start_rejects_a_new_n_components(planted):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=4, warm_start=True, max_iter=1, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="same n_components"):
        model.set_params(n_components=5).fit(X, y)


def test_warm_start_handles_new_ids(planted):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=4, warm_start=True, max_iter=2, random_state=0
    )
    model.fit(X[X[:, 0] < 150], y[X[:, 0] < 150])
    model.fit(X, y)
    assert len(model.users_) == 300


def test_verbose_prints_one_line_per_epoch(planted, capsys):
    X, y, _ = planted
    MatrixFactorization(
        n_components=2,
        alpha=0.1,
        max_iter=3,
        tol=None,
        verbose=1,
        early_stopping=True,
        random_state=0,
    ).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        r"Epoch 1: loss [\d.]+, validation RMSE [\d.]+, [\d.]+ s", lines[0]
    )


def test_verbose_prints_each_penalty_tried(planted, capsys):
    X, y, _ = planted
    model = MatrixFactorization(n_components=2, max_iter=3, tol=None, verbose=1)
    model.fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(model.alpha_scores_) + 3
    for line, alpha in zip(lines, model.alpha_scores_, strict=False):
        assert re.fullmatch(rf"alpha={alpha}: held-out RMSE [\d.]+", line)
    assert lines[-3].startswith("Epoch 1: loss")


def test_max_iter_without_convergence_warns(planted):
    X, y, _ = planted
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        MatrixFactorization(max_iter=1, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MatrixFactorization(max_iter=1, tol=None, random_state=0).fit(X, y)


def test_tol_stops_training(planted):
    X, y, _ = planted
    model = MatrixFactorization(
        n_components=4, tol=0.01, max_iter=100, random_state=0
    ).fit(X, y)
    assert model.n_iter_ < 100


def test_sgd_divergence_raises_a_clear_error(planted):
    X, y, _ = planted
    model = MatrixFactorization(
        solver="sgd", learning_rate=50.0, max_iter=20, random_state=0
    )
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        model.fit(X, y)


def test_auto_alpha_refits_all_ratings_with_the_best_penalty_tried(planted):
    X, y, _ = planted
    params = dict(n_components=3, tol=1e-6, max_iter=300, random_state=0)
    auto = MatrixFactorization(**params).fit(X, y)
    best = min(auto.alpha_scores_, key=auto.alpha_scores_.get)
    # The largest penalty within a standard error of the best (planted data are
    # precise: a close second at most).
    assert auto.alpha_ >= best
    assert auto.alpha_scores_[auto.alpha_] < 1.02 * auto.alpha_scores_[best]
    assert len(auto.alpha_scores_) >= 3  # the start and a step each way at least
    fixed = MatrixFactorization(alpha=auto.alpha_, **params).fit(X, y)
    assert fixed.alpha_ == auto.alpha_ and fixed.alpha_scores_ is None
    # The final fit starts from the search's, not afresh: the same minimum.
    assert auto.loss_curve_[-1] == pytest.approx(fixed.loss_curve_[-1], rel=1e-5)
    # Both stop at tol=1e-6 on the same minimum, where the loss is flat: the
    # predictions agree to a few 1e-4 on average (random_state 0 to 2: at most 4.3e-3
    # on a single rating).
    difference = np.abs(auto.predict(X) - fixed.predict(X))
    assert difference.mean() < 1e-3 and difference.max() < 1e-2


def test_auto_alpha_shrinks_the_vectors_when_ratings_have_no_interactions():
    # Biases plus noise: any latent vector only fits the noise.
    rng = np.random.RandomState(0)
    users, items = rng.randint(0, 60, 3000), rng.randint(0, 40, 3000)
    y = rng.randn(60)[users] + rng.randn(40)[items] + rng.randn(3000)
    X = np.column_stack([users, items])
    model = MatrixFactorization(n_components=8, random_state=0).fit(X, y)
    # The top of the ladder: no penalty did measurably better on the held-out slice.
    assert model.alpha_ == max(model.alpha_scores_) > 0.5
    assert np.abs(model.user_factors_).max() < 1e-6
    bias_only = MatrixFactorization(n_components=0, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), bias_only.predict(X), atol=1e-3)


def test_auto_alpha_without_ratings_to_hold_out_takes_the_start():
    model = MatrixFactorization(n_components=2, random_state=0)
    model.fit([[0, 0]], [3.0])
    assert model.alpha_ == 0.08 and model.alpha_scores_ is None
