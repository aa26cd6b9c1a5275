"""Scale-free fitting: predictions are affine equivariant in the ratings and invariant
to the scale of the sample weights, and the fitted attributes are in rating units,
for every solver and option and for the Bayesian estimator (hypothesis properties)."""

import copy
import functools
import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
from sklearn_mf.datasets import make_ratings

N_USERS, N_ITEMS = 30, 20

# Tolerances, on the errors relative to the spread a * std(y) of the ratings fitted.
#
# The shifted ratings a * y + b are only exact to eps * |b| in float64: up to
# 2.2e-16 * 1e6 = 2.2e-10 of their spread when |b| / a reaches 1e6 (a = 1e-3,
# b = 1e3), and the iterative solvers pass that on, amplified a little: measured up
# to 3.5e-10 on the predictions (2.5e-11 on the Bayesian std) and 2.3e-10 on the
# attributes for cg, als and the Gibbs sampler over 100 random (a, b) and the corners
# below. 1e-8 leaves a margin of 30; a bias, a vector or the clipping range not
# rescaled is off by a fraction of the spread times |a - 1|, and even biases off by a
# factor a ** 1e-4 fail.
FLOAT64_RTOL = 1e-8
# SGD trains in float32: the standardised ratings of a * y + b round now and then to
# the neighbouring float32 of those of y, and that one-ulp (6e-8) difference in a
# rating is spread by the later steps. Measured up to 4.5e-9 over 400 random (a, b)
# (up to 5e-8 on other planted data, 2e-7 after 50 epochs); 1e-5 (about 80 float32
# ulps) leaves a margin of 50 over all of these and is still far below what a
# rescaling bug does.
SGD_RTOL = 1e-5
# Weights times c, divided by their mean, equal the original relative weights to a
# few float64 ulps, so that SGD's float32 copies round alike too (but for odds of
# about 1e-6): measured up to 3.4e-13 of std(y) over 100 random c, for every solver.
# A weight scale that leaks into the penalty, the SGD step, an implicit sum or the
# noise prior changes the fit by O(1).
WEIGHT_RTOL = 1e-10

# alpha is set, not left to the default, so that every fit is one run of the solver.
_MF = dict(n_components=3, alpha=0.09, max_iter=8, tol=None, random_state=0)
# A larger step than the default, so that 10 epochs move SGD's predictions beyond
# the training range too (and clipping is exercised).
_SGD = dict(_MF, solver="sgd", max_iter=10, learning_rate=0.05)
_BAYES = dict(n_components=3, n_iter=12, burn_in=4, random_state=0)

# The options of the alternating solvers: (name, parameters, side feature columns).
_ALTERNATING_OPTIONS = [
    ("", {}, False),
    ("-implicit-users", {"implicit_feedback": "users"}, False),
    ("-implicit-items", {"implicit_feedback": "items"}, False),
    ("-implicit-both", {"implicit_feedback": "both"}, False),
    ("-features", {}, True),
    ("-feature-factors", {"feature_factors": True}, True),
]
# id: (estimator class, parameters, whether X has side feature columns)
CASES = {
    **{
        f"{solver}{name}": (
            MatrixFactorization,
            dict(_MF, solver=solver, **options),
            features,
        )
        for solver in ("cg", "als")
        for name, options, features in _ALTERNATING_OPTIONS
    },
    "sgd": (MatrixFactorization, _SGD, False),
    "sgd-implicit-users": (
        MatrixFactorization,
        dict(_SGD, implicit_feedback=True),
        False,
    ),
    "sgd-implicit-items": (
        MatrixFactorization,
        dict(_SGD, implicit_feedback="items"),
        False,
    ),
    "sgd-features": (MatrixFactorization, _SGD, True),
    # The defaults: alpha="auto" searches the penalty on a held-out slice, and the
    # tol stopping rule decides how many epochs each fit runs.
    "default": (MatrixFactorization, dict(n_components=3, random_state=0), False),
    "bayesian": (BayesianMatrixFactorization, _BAYES, False),
    "bayesian-no-implicit": (
        BayesianMatrixFactorization,
        dict(_BAYES, implicit_feedback=False),
        False,
    ),
    "bayesian-features": (BayesianMatrixFactorization, _BAYES, True),
}
MF_CASES = [case for case in CASES if not case.startswith("bayesian")]
BAYESIAN_CASES = [case for case in CASES if case.startswith("bayesian")]

# a log-uniform in [1e-3, 1e3], b uniform in [-1e3, 1e3], c log-uniform in
# [1e-6, 1e6]. Derandomized, without an example database: the same examples on every
# run, and nothing written to the working tree.
scales = st.floats(-3.0, 3.0).map(lambda exponent: 10.0**exponent)
shifts = st.floats(-1e3, 1e3)
weight_scales = st.floats(-6.0, 6.0).map(lambda exponent: 10.0**exponent)
PROPERTY = settings(max_examples=10, deadline=None, derandomize=True, database=None)
# The corners where the ratings lose the most digits (|b| / a = 1e6) and where they
# are largest.
EXTREME_AFFINE_MAPS = [(1e-3, 1e3), (1e-3, -1e3), (1e3, -1e3)]


def _extreme_affine_maps(test):
    for a, b in EXTREME_AFFINE_MAPS:
        test = example(a=a, b=b)(test)
    return test


@functools.cache
def _data(features: bool):
    """Planted ratings, clipped to [1, 5] with large biases so that some predictions
    fall outside the training range; uneven weights; and the rows to predict: every
    (user, item) cell, rated or not, plus user N_USERS and item N_ITEMS, never seen.

    With ``features``, X gains a user attribute, an item attribute (constant within
    each user's, item's rows, so ``feature_factors`` gives them vectors) and a
    per-rating context column.
    """
    X, y, _ = make_ratings(
        n_users=N_USERS,
        n_items=N_ITEMS,
        n_ratings=300,
        n_components=3,
        bias_std=1.0,
        rating_range=(1.0, 5.0),
        random_state=0,
    )
    rng = np.random.RandomState(0)
    weight = rng.uniform(0.5, 2.0, len(y))
    rows = np.array(list(itertools.product(range(N_USERS + 1), range(N_ITEMS + 1))))
    if features:
        user_attribute = rng.randn(N_USERS + 1)
        item_attribute = rng.randint(2, size=N_ITEMS + 1).astype(float)

        def with_features(ids):
            return np.column_stack(
                [
                    ids,
                    user_attribute[ids[:, 0]],
                    item_attribute[ids[:, 1]],
                    rng.randn(len(ids)),
                ]
            )

        X, rows = with_features(X), with_features(rows)
    return X, y, weight, rows


def _fit(case, a=1.0, b=0.0, c=1.0, weighted=True):
    """The case's estimator fitted on ``a * y + b`` with the weights times ``c``."""
    estimator, params, features = CASES[case]
    X, y, weight, _ = _data(features)
    sample_weight = c * weight if weighted else None
    return estimator(**params).fit(X, a * y + b, sample_weight=sample_weight)


@functools.cache
def _reference(case, weighted=True):
    return _fit(case, weighted=weighted)


def _rows(case):
    _, _, _, rows = _data(CASES[case][2])
    return rows


def _spread(case):
    _, y, _, _ = _data(CASES[case][2])
    return float(np.std(y))


def _rtol(case):
    return SGD_RTOL if CASES[case][1].get("solver") == "sgd" else FLOAT64_RTOL


def _unclipped(model):
    return copy.copy(model).set_params(clip=False)


def _assert_close(actual, expected, atol, what):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol, err_msg=what)


def _assert_rows_close(actual, expected, rows, atol, what):
    """Checks the rows of known ids and those of unknown ids (fallbacks) apart."""
    known = (rows[:, 0] < N_USERS) & (rows[:, 1] < N_ITEMS)
    _assert_close(actual[known], expected[known], atol, f"{what}, known ids")
    _assert_close(actual[~known], expected[~known], atol, f"{what}, unknown ids")


@pytest.mark.parametrize("case", CASES)
def test_some_predictions_are_clipped_to_the_training_range(case):
    # Otherwise the properties below would not exercise the clipping.
    reference = _reference(case)
    low, high = reference.rating_range_
    unclipped = _unclipped(reference).predict(_rows(case))
    assert (unclipped < low).any() and (unclipped > high).any()
    assert np.array_equal(reference.predict(_rows(case)), np.clip(unclipped, low, high))


def _assert_unclipped_mapped(model, reference, rows, a, b, atol):
    """Without clipping too, ``model`` predicts ``a`` times ``reference`` plus ``b``."""
    _assert_rows_close(
        _unclipped(model).predict(rows),
        a * _unclipped(reference).predict(rows) + b,
        rows,
        atol,
        "unclipped",
    )


@pytest.mark.parametrize("case", MF_CASES)
@PROPERTY
@given(a=scales, b=shifts)
@_extreme_affine_maps
def test_predictions_of_an_affine_map_of_the_ratings_are_mapped_alike(case, a, b):
    reference, model = _reference(case), _fit(case, a, b)
    rows, atol = _rows(case), _rtol(case) * a * _spread(case)
    _assert_rows_close(
        model.predict(rows), a * reference.predict(rows) + b, rows, atol, "clipped"
    )
    _assert_unclipped_mapped(model, reference, rows, a, b, atol)


@pytest.mark.parametrize("case", BAYESIAN_CASES)
@PROPERTY
@given(a=scales, b=shifts)
@_extreme_affine_maps
def test_bayesian_mean_maps_alike_and_std_scales_by_a(case, a, b):
    reference, model = _reference(case), _fit(case, a, b)
    rows, atol = _rows(case), FLOAT64_RTOL * a * _spread(case)
    mean, std = model.predict(rows, return_std=True)
    reference_mean, reference_std = reference.predict(rows, return_std=True)
    _assert_rows_close(mean, a * reference_mean + b, rows, atol, "clipped mean")
    _assert_rows_close(std, a * reference_std, rows, atol, "std")
    _assert_unclipped_mapped(model, reference, rows, a, b, atol)


@pytest.mark.parametrize("case", CASES)
@PROPERTY
@given(a=scales, b=shifts)
@_extreme_affine_maps
def test_fitted_attributes_follow_the_ratings_units(case, a, b):
    reference, model = _reference(case), _fit(case, a, b)
    rtol = _rtol(case)
    atol = rtol * a * _spread(case)
    _assert_close(model.global_mean_, a * reference.global_mean_ + b, atol, "mean")
    _assert_close(
        model.rating_range_,
        np.multiply(a, reference.rating_range_) + b,
        atol,
        "rating_range_",
    )
    _assert_close(model.rating_scale_, a * reference.rating_scale_, atol, "scale")
    _assert_close(model.user_bias_, a * reference.user_bias_, atol, "user_bias_")
    _assert_close(model.item_bias_, a * reference.item_bias_, atol, "item_bias_")
    _assert_close(model.coef_, a * reference.coef_, atol, "coef_")
    _assert_close(
        model.user_factors_ @ model.item_factors_.T,
        a * (reference.user_factors_ @ reference.item_factors_.T),
        atol,
        "user_factors_ @ item_factors_.T",
    )
    assert model.n_iter_ == reference.n_iter_
    if isinstance(model, BayesianMatrixFactorization):
        # Precisions are in inverse squared rating units.
        np.testing.assert_allclose(
            model.noise_precision_ * a**2, reference.noise_precision_, rtol=rtol
        )
        np.testing.assert_allclose(
            model.noise_precision_trace_ * a**2,
            reference.noise_precision_trace_,
            rtol=rtol,
        )
    else:
        # The loss is in squared rating units.
        np.testing.assert_allclose(
            np.divide(model.loss_curve_, a**2), reference.loss_curve_, rtol=rtol
        )


@pytest.mark.parametrize("case", CASES)
@PROPERTY
@given(c=weight_scales)
@example(c=1e-6)
@example(c=1e6)
def test_multiplying_every_weight_by_a_constant_changes_nothing(case, c):
    reference, model = _reference(case), _fit(case, c=c)
    rows, atol = _rows(case), WEIGHT_RTOL * _spread(case)
    if isinstance(model, BayesianMatrixFactorization):
        mean, std = model.predict(rows, return_std=True)
        reference_mean, reference_std = reference.predict(rows, return_std=True)
        _assert_rows_close(mean, reference_mean, rows, atol, "mean")
        _assert_rows_close(std, reference_std, rows, atol, "std")
        np.testing.assert_allclose(
            model.noise_precision_, reference.noise_precision_, rtol=WEIGHT_RTOL
        )
    else:
        _assert_rows_close(
            model.predict(rows), reference.predict(rows), rows, atol, "predictions"
        )
        # The loss is divided by the total relative weight.
        np.testing.assert_allclose(
            model.loss_curve_, reference.loss_curve_, rtol=WEIGHT_RTOL
        )


@pytest.mark.parametrize("case", CASES)
@PROPERTY
@given(c=weight_scales)
def test_equal_weights_fit_like_no_weights(case, c):
    X, y, _, rows = _data(CASES[case][2])
    estimator, params, _ = CASES[case]
    model = estimator(**params).fit(X, y, sample_weight=np.full(len(y), c))
    reference = _reference(case, weighted=False)
    _assert_rows_close(
        model.predict(rows),
        reference.predict(rows),
        rows,
        WEIGHT_RTOL * _spread(case),
        "predictions",
    )
