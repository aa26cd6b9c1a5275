"""BayesianMatrixFactorization: the hyper-priors, the sketch of the mean interactions,
the estimator, and its accuracy and calibration on MovieLens. The conditional draws
(the Gibbs kernels) are tested in ``kernels/test_gibbs.py``."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
from sklearn_mf._solvers._gibbs import sample_normal_prior
from sklearn_mf._solvers._sketch import ProductSketch
from sklearn_mf.datasets import make_ratings


@pytest.fixture(scope="module")
def planted():
    X, y, _ = make_ratings(
        n_users=120, n_items=90, n_ratings=5_000, noise=0.5, random_state=3
    )
    return X, y


def test_normal_prior_draws_concentrate_on_the_rows_moments():
    rng = np.random.default_rng(0)
    rows = rng.normal([1.0, -2.0], [0.5, 2.0], size=(20_000, 2))
    draws = [sample_normal_prior(rows, 1.0, 1.0, rng) for _ in range(200)]
    precision = np.mean([d.precision for d in draws], axis=0)
    mean = np.mean([d.mean for d in draws], axis=0)
    np.testing.assert_allclose(precision, [4.0, 0.25], rtol=0.03)
    np.testing.assert_allclose(mean, [1.0, -2.0], atol=0.03)


def test_normal_prior_of_an_empty_group_is_the_hyper_prior():
    rng = np.random.default_rng(0)
    draws = [sample_normal_prior(np.zeros((0, 1)), 2.0, 4.0, rng) for _ in range(4000)]
    # Gamma(shape=2, rate=4) has mean 0.5.
    assert np.mean([d.precision[0] for d in draws]) == pytest.approx(0.5, rel=0.05)


def test_sketch_is_exact_when_the_average_fits_its_rank():
    rng = np.random.RandomState(0)
    m, n, k = 40, 30, 2
    sketch = ProductSketch(
        np.arange(m, dtype=np.uint64), np.arange(n, dtype=np.uint64), 12, seed=1
    )
    # Samples spanning a rank-6 space: their average has rank at most 6 < 12.
    basis_rows, basis_cols = rng.randn(m, 6), rng.randn(n, 6)
    average = np.zeros((m, n))
    for _ in range(25):
        rows = basis_rows @ rng.randn(6, k)
        cols = basis_cols @ rng.randn(6, k)
        sketch.add(rows, cols)
        average += rows @ cols.T / 25
    left, right = sketch.factors(1 / 25)
    np.testing.assert_allclose(left @ right.T, average, atol=1e-8)
    # Balanced: both factors carry the same column norms.
    np.testing.assert_allclose(
        np.linalg.norm(left, axis=0), np.linalg.norm(right, axis=0)
    )


def test_results_are_reproducible_and_independent_of_n_jobs(planted):
    X, y = planted
    fits = [
        BayesianMatrixFactorization(
            n_components=4, n_iter=12, burn_in=4, random_state=0, n_jobs=n_jobs
        ).fit(X, y)
        for n_jobs in (1, 2, 1)
    ]
    predictions = [model.predict(X[:300], return_std=True) for model in fits]
    for mean, std in predictions[1:]:
        np.testing.assert_array_equal(mean, predictions[0][0])
        np.testing.assert_array_equal(std, predictions[0][1])
    other = BayesianMatrixFactorization(
        n_components=4, n_iter=12, burn_in=4, random_state=1
    ).fit(X, y)
    assert not np.array_equal(other.predict(X[:300]), predictions[0][0])


def test_fitted_model_does_not_grow_with_the_number_of_samples(planted):
    X, y = planted
    models = [
        BayesianMatrixFactorization(
            n_components=4, n_iter=n_iter, burn_in=2, random_state=0
        ).fit(X, y)
        for n_iter in (5, 40)
    ]
    dumps = [pickle.dumps(model) for model in models]
    # Only the noise-precision trace grows, by 8 bytes per sweep.
    assert len(dumps[1]) - len(dumps[0]) <= 8 * 35 + 64
    loaded = pickle.loads(dumps[1])
    queries = np.vstack([X[:50], [[-1, -1]]])
    for a, b in zip(
        loaded.predict(queries, return_std=True),
        models[1].predict(queries, return_std=True),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_burn_in_must_leave_a_sample(planted):
    X, y = planted
    with pytest.raises(ValueError, match="burn_in=10 leaves no sweep"):
        BayesianMatrixFactorization(n_iter=10, burn_in=10).fit(X, y)


def test_return_std_includes_the_noise_and_the_prior_for_unknown_ids(planted):
    X, y = planted
    model = BayesianMatrixFactorization(
        n_components=4, n_iter=30, burn_in=10, random_state=0
    ).fit(X, y)
    known_user, known_item = X[0, 0], X[0, 1]
    queries = np.array(
        [[known_user, known_item], [-5, known_item], [known_user, -7], [-5, -7]]
    )
    mean, std = model.predict(queries, return_std=True)
    np.testing.assert_array_equal(mean, model.predict(queries))
    item = np.searchsorted(model.items_, known_item)
    user = np.searchsorted(model.users_, known_user)
    assert mean[1] == pytest.approx(model.global_mean_ + model.item_bias_[item])
    assert mean[2] == pytest.approx(model.global_mean_ + model.user_bias_[user])
    assert mean[3] == pytest.approx(model.global_mean_)
    assert (std >= 1 / np.sqrt(model.noise_precision_)).all()
    # An unknown id's parameters are as uncertain as the prior makes them.
    assert std[0] < min(std[1], std[2]) and max(std[1], std[2]) < std[3]


def test_noise_precision_trace_has_one_draw_per_sweep(planted):
    X, y = planted
    model = BayesianMatrixFactorization(
        n_components=4, n_iter=25, burn_in=5, random_state=0
    ).fit(X, y)
    assert model.noise_precision_trace_.shape == (25,)
    assert model.n_iter_ == 25
    # The planted noise has standard deviation 0.5 (precision 4) before clipping.
    settled = model.noise_precision_trace_[5:]
    assert 2.0 < settled.mean() < 6.0


def test_grid_search_and_cross_validation(planted):
    X, y = planted
    search = GridSearchCV(
        BayesianMatrixFactorization(n_iter=10, burn_in=3, random_state=0),
        {"n_components": [2, 4]},
        cv=3,
        scoring="neg_root_mean_squared_error",
    ).fit(X, y)
    assert search.best_params_["n_components"] in (2, 4)
    scores = cross_val_score(
        BayesianMatrixFactorization(n_components=3, n_iter=10, burn_in=3), X, y, cv=3
    )
    assert np.isfinite(scores).all()


def test_beats_the_point_estimate_and_is_calibrated_on_ml100k(ml100k):
    X, y = ml100k
    X_train, X_test, y_train, y_test = train_test_split(
        X, y.to_numpy(dtype=float), test_size=0.2, random_state=0
    )
    bayes = BayesianMatrixFactorization(
        n_components=16, n_iter=60, burn_in=20, random_state=0, n_jobs=2
    ).fit(X_train, y_train)
    mean, std = bayes.predict(X_test, return_std=True)
    point = MatrixFactorization(random_state=0, n_jobs=2).fit(X_train, y_train)

    def rmse(prediction):
        return float(np.sqrt(np.mean((prediction - y_test) ** 2)))

    assert rmse(mean) < 0.895
    assert rmse(mean) < rmse(point.predict(X_test)) - 0.01
    covered = np.mean(np.abs(y_test - mean) <= 1.645 * std)
    assert 0.86 < covered < 0.95


def test_side_feature_coefficient_is_recovered(planted):
    X, y = planted
    feature = np.random.RandomState(0).randn(len(y))
    model = BayesianMatrixFactorization(
        n_components=4, n_iter=40, burn_in=10, random_state=0
    ).fit(np.column_stack([X, 10 + 3 * feature]), y + 0.7 * feature)
    # The column is 10 + 3 x, so the rating's 0.7 x is 0.7 / 3 per input unit.
    assert model.coef_[0] == pytest.approx(0.7 / 3, rel=0.05)


def test_sketch_adds_the_same_sum_in_batches_of_any_width(monkeypatch):
    rng = np.random.RandomState(1)
    m, n = 40, 30
    samples = [(rng.randn(m, k), rng.randn(n, k)) for k in (2, 3, 2, 5, 2)]

    def sketched(width):
        monkeypatch.setattr("sklearn_mf._solvers._sketch._BUFFER_COLUMNS", width)
        ids = np.arange(m, dtype=np.uint64), np.arange(n, dtype=np.uint64)
        sketch = ProductSketch(*ids, 6, seed=3)
        for rows, cols in samples:
            sketch.add(rows, cols)
        left, right = sketch.factors(0.2)
        return left @ right.T

    # Width 1: every product is added at once; 4: some are buffered, 128: all are.
    expected = sketched(1)
    for width in (4, 128):
        np.testing.assert_allclose(sketched(width), expected, rtol=1e-12, atol=1e-12)


def test_sketch_core_takes_rank_deficient_tests():
    from sklearn_mf._solvers._sketch import _least_squares

    rng = np.random.RandomState(0)
    a = rng.randn(9, 4)
    a[:, 3] = a[:, 0]  # rank 3
    b = rng.randn(9, 5)
    x = _least_squares(a, b)
    assert np.isfinite(x).all()
    np.testing.assert_allclose(a.T @ (a @ x - b), 0.0, atol=1e-10)
    full = rng.randn(9, 4)
    np.testing.assert_allclose(
        _least_squares(full, b), np.linalg.lstsq(full, b)[0], atol=1e-12
    )


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_sketch_products_accumulate_in_place_only_into_c_contiguous_arrays(layout):
    from sklearn_mf._solvers._sketch import _add_product

    rng = np.random.RandomState(0)
    a, b = rng.randn(6, 4)[:, :2], rng.randn(2, 5)
    if layout != "strided":  # operands in either order reach BLAS as they are
        a, b = np.asarray(a, order=layout), np.asarray(b, order=layout)
    out = rng.randn(6, 5)
    expected = out + a @ b
    _add_product(out, a, b)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    with pytest.raises(ValueError, match="C-contiguous"):
        _add_product(np.asfortranarray(out), a, b)
