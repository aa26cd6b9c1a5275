"""Inputs a user can pass get the right answer or a clear error: ids of every kind,
extreme numbers, messages, thread budgets."""

import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
from sklearn_mf._ids import canonical_ids, encode_ids
from sklearn_mf.datasets import make_ratings
from sklearn_mf.utils import _threads


def _model(**params):
    params = {"alpha": 0.1, "n_components": 2, "max_iter": 5, "tol": None, **params}
    return MatrixFactorization(random_state=0, **params)


@pytest.fixture(scope="module")
def ratings():
    X, y, _ = make_ratings(n_users=30, n_items=20, n_ratings=300, random_state=0)
    return X, y


# Ids.


def test_string_ids_differing_after_a_nul_byte_are_distinct():
    X = [["a\x00b", 1], ["a\x00c", 2], ["a", 1], ["d", 2]] * 5
    y = [1.0, 2.0, 3.0, 4.0] * 5
    model = _model().fit(X, y)
    assert sorted(model.users_) == ["a", "a\x00b", "a\x00c", "d"]
    codes = [list(model.users_).index(u) for u in ("a\x00b", "a\x00c")]
    assert model.user_bias_[codes[0]] != model.user_bias_[codes[1]]
    # predict finds each of them.
    np.testing.assert_array_equal(
        model.predict([["a\x00b", 1], ["a\x00c", 1]]),
        model.predict(np.array([["a\x00b", 1], ["a\x00c", 1]], dtype=object)),
    )


def _dates(unit: str) -> np.ndarray:
    days = np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="datetime64[D]")
    return np.tile(days.astype(f"datetime64[{unit}]"), 4)


def test_dates_are_the_same_ids_in_any_unit_and_time_zone():
    items = np.repeat([1, 2, 3, 4], 3)
    y = np.arange(12.0)
    model = _model().fit(pd.DataFrame({"user": _dates("ns"), "item": items}), y)
    assert model.users_.dtype == np.dtype("datetime64[ns]")
    expected = model.predict(pd.DataFrame({"user": _dates("ns"), "item": items}))
    for unit in ("us", "s", "D"):
        frame = pd.DataFrame({"user": _dates(unit), "item": items})
        np.testing.assert_array_equal(model.predict(frame), expected)
    in_paris = (
        pd.Series(_dates("ns")).dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    )
    frame = pd.DataFrame({"user": in_paris, "item": items})
    np.testing.assert_array_equal(model.predict(frame), expected)
    # A fit on other units gives the same model.
    other = _model().fit(pd.DataFrame({"user": _dates("s"), "item": items}), y)
    np.testing.assert_array_equal(other.user_factors_, model.user_factors_)


def test_missing_or_out_of_range_dates_are_rejected():
    with pytest.raises(ValueError, match="NaN or None in the user"):
        canonical_ids(np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]"), "user")
    with pytest.raises(ValueError, match="outside the range"):
        canonical_ids(np.array(["3000-01-01"], dtype="datetime64[us]"), "user")


def test_dates_and_numbers_never_match():
    X = pd.DataFrame({"user": [1, 2, 1, 2], "item": [1, 2, 2, 1]})
    model = _model().fit(X, [1.0, 2.0, 3.0, 4.0])
    dates = np.array(["1970-01-01T00:00:00.000000001"] * 2, dtype="datetime64[ns]")
    with pytest.warns(UserWarning, match="they are dates, while the user ids"):
        predicted = model.predict(pd.DataFrame({"user": dates, "item": [1, 2]}))
    np.testing.assert_allclose(predicted, model.global_mean_ + model.item_bias_)


@pytest.mark.parametrize(
    "column",
    [
        [3, 1, 2, 3],
        [3.0, 1.0, 2.0, 3.0],
        ["c", "a", "b", "c"],
        [True, False, True, True],
        [2**70, 1, 2, 2**70],
        [1, "a", 2.5, 1],
    ],
)
def test_object_columns_encode_as_their_typed_equivalents(column):
    as_objects = np.array(column, dtype=object)
    canonical = canonical_ids(as_objects, "user")
    ids, codes = encode_ids(canonical)
    # Equal ids get one code, and the codes point back to the ids.
    assert len(ids) == len(set(column))
    assert [ids[c] for c in codes] == [canonical[k] for k in range(len(column))]
    beyond_int64 = any(isinstance(v, int) and abs(v) >= 2**63 for v in column)
    if all(type(v) is type(column[0]) for v in column) and not beyond_int64:
        typed = canonical_ids(np.array(column), "user")
        assert canonical.dtype == typed.dtype
        np.testing.assert_array_equal(canonical, typed)


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_ids_match_whatever_their_container(ratings):
    X, y = ratings
    model = _model().fit(X, y)
    expected = model.predict(X[:20])
    frame = pd.DataFrame(X[:20], columns=["user", "item"])
    containers = [
        X[:20].tolist(),
        X[:20].astype(object),
        frame,
        frame.astype("Int64"),
        frame.astype(float),
    ]
    try:
        containers.append(frame.astype("int64[pyarrow]"))
    except (ImportError, TypeError):
        pass
    for container in containers:
        np.testing.assert_array_equal(model.predict(container), expected)


def test_a_warning_names_both_types_when_most_ids_are_unknown():
    X = [[1, "a"], [2, "b"], [1, "b"], [2, "a"]] * 3
    model = _model().fit(X, np.arange(12.0))
    # numpy turns the mixed rows into strings: user "1" is not user 1.
    with pytest.warns(UserWarning, match="they are strings, while the user ids"):
        model.predict(np.array([[1, "a"], [2, "b"]]))
    with pytest.warns(UserWarning, match="they are strings, while the user ids"):
        model.recommend(np.array(["1", "2"]), n=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict([[1, "a"], [2, "b"]])  # known ids of the right type
        model.predict([[7, "a"], [8, "b"]])  # unknown, but the same type
        model.predict([[1, "a"], ["x", "b"], [2, "a"]])  # mostly known


# Numbers.


@pytest.mark.parametrize("solver", ["cg", "als", "sgd"])
def test_extreme_weights_give_a_finite_model(ratings, solver):
    X, y = ratings
    weight = np.ones(len(y))
    weight[0] = 1e140
    model = _model(solver=solver).fit(X, y, sample_weight=weight)
    assert np.isfinite(model.predict(X)).all()
    assert np.isfinite(model.user_factors_).all()


@pytest.mark.parametrize("solver", ["cg", "als", "sgd"])
def test_a_vanishing_alpha_gives_a_model_or_a_clear_error(ratings, solver):
    X, y = ratings
    try:
        model = _model(solver=solver, alpha=1e-300).fit(X, y)
    except ValueError as error:  # not SystemError or ZeroDivisionError
        assert "diverged" in str(error)
        assert ("learning_rate" in str(error)) == (solver == "sgd")
    else:
        assert np.isfinite(model.predict(X)).all()


def test_all_tiny_weights_are_relative(ratings):
    X, y = ratings
    tiny = _model().fit(X, y, sample_weight=np.full(len(y), 1e-200))
    np.testing.assert_allclose(tiny.predict(X), _model().fit(X, y).predict(X))


@pytest.mark.parametrize("name", ["y", "sample_weight", "features"])
def test_values_too_large_to_square_are_rejected_by_fit_and_partial_fit(ratings, name):
    X, y = ratings
    X = np.column_stack([X, np.zeros(len(y))])
    weight = np.ones(len(y))
    huge = {"y": y.copy(), "sample_weight": weight.copy(), "features": X.copy()}
    if name == "features":
        huge[name][0, 2] = 1e200
    else:
        huge[name][0] = 1e200
    label = "feature columns" if name == "features" else name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning on the way
        with pytest.raises(ValueError, match=f"{label}.*above 1e\\+150"):
            _model().fit(
                huge["features"], huge["y"], sample_weight=huge["sample_weight"]
            )
    model = _model().fit(X, y)
    state = model._state
    with pytest.raises(ValueError, match=f"{label}.*above 1e\\+150"):
        model.partial_fit(
            huge["features"][:5], huge["y"][:5], sample_weight=huge["sample_weight"][:5]
        )
    assert model._state is state


# Messages.


def test_recommend_without_exclusion_says_so(ratings):
    X, y = ratings
    model = _model().fit(X, y)
    with pytest.raises(ValueError, match=r"n=25 is more than the 20 candidate items;"):
        model.recommend([0], n=25, exclude_seen=False)
    with pytest.raises(ValueError, match="after excluding the items it rated"):
        model.recommend([0], n=20)


def test_repeated_ratings_count_once_against_n():
    X = [[0, 0], [0, 0], [0, 0], [0, 1], [1, 2]]
    model = _model().fit(X, [1.0, 2.0, 3.0, 4.0, 5.0])
    ids, _ = model.recommend([0], n=1)  # items 0 and 1 rated, item 2 left
    assert ids.tolist() == [[2]]
    with pytest.raises(ValueError, match="more than the 1 candidate items left"):
        model.recommend([0], n=2)


@pytest.mark.parametrize(
    "X", [(row for row in [[1, 2]]), {"user": [1], "item": [2]}, {1, 2}]
)
def test_x_that_is_not_a_table_gets_a_type_error(X):
    with pytest.raises(TypeError, match="X must be a 2D array-like or a DataFrame"):
        _model().fit(X, [1.0])


def test_partial_fit_with_implicit_feedback_gives_its_reason(ratings):
    X, y = ratings
    model = _model(implicit_feedback="items").fit(X, y)
    with pytest.raises(AttributeError, match="implicit_feedback='items'"):
        model.partial_fit(X, y)


def test_return_std_must_be_a_bool(ratings):
    X, y = ratings
    model = BayesianMatrixFactorization(
        n_components=2, n_iter=4, burn_in=1, random_state=0
    ).fit(X, y)
    with pytest.raises(TypeError, match="return_std must be a bool"):
        model.predict(X[:2], return_std="no")


def test_make_ratings_refuses_a_planted_model_too_large_for_memory():
    with pytest.raises(ValueError, match="GiB"):
        make_ratings(n_users=10**9, n_items=10**9, n_ratings=10)


# Threads.


def test_the_thread_budget_follows_omp_num_threads(monkeypatch):
    monkeypatch.setattr(_threads.numba.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _threads.effective_threads(-1) == min(2, _threads.joblib.cpu_count())
    # A joblib worker's share, with NUMBA_NUM_THREADS exported by the user.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _threads.effective_threads(-1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # nesting levels: not a cap
    assert _threads.effective_threads(1) == 1


def test_idle_threads_wait_passively_unless_the_user_chose(monkeypatch):
    for name in _threads._WAIT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    _threads._prefer_passive_waiting()
    assert _threads.os.environ["OMP_WAIT_POLICY"] == "passive"
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    _threads._prefer_passive_waiting()
    assert _threads.os.environ["OMP_WAIT_POLICY"] == "active"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")
    _threads._prefer_passive_waiting()
    assert "OMP_WAIT_POLICY" not in _threads.os.environ


# Cases found by fuzzing the input layer.


def test_integer_and_float_ids_are_compared_exactly():
    X = np.array([[2**53 + 1, 1], [2**53 + 1, 2], [7, 1], [7, 2]])
    model = _model(n_components=0).fit(X, [5.0, 5.0, 1.0, 1.0])
    rows = model.predict(np.array([[2.0**53, 1], [0.5, 1]]))
    np.testing.assert_allclose(rows, model.global_mean_ + model.item_bias_[0])
    floats = _model(n_components=0).fit(X.astype(float) + 0.5, [5.0, 5.0, 1.0, 1.0])
    rows = floats.predict(np.array([[2**53 + 1, 1], [8, 1]]))
    np.testing.assert_allclose(rows, floats.global_mean_ + floats.item_bias_[0])


@pytest.mark.parametrize("solver", ["cg", "als"])
def test_an_unpenalised_constant_feature_gets_no_coefficient(ratings, solver):
    X, y = ratings
    X = np.column_stack([X, np.full(len(y), 7.0), np.arange(len(y)) % 3])
    model = _model(solver=solver, alpha_bias=0.0).fit(X, y)
    assert model.coef_[0] == 0.0 and np.isfinite(model.coef_).all()


def test_bayesian_constant_feature_gets_no_coefficient(ratings):
    X, y = ratings
    X = np.column_stack([X, np.full(len(y), 7.0)])
    model = BayesianMatrixFactorization(
        n_components=2, n_iter=6, burn_in=2, random_state=0
    ).fit(X, y)
    assert model.coef_[0] == 0.0
    row = X[:1].copy()
    row[0, 2] = 100.0
    assert model.predict(row) == model.predict(X[:1])


def test_tiny_features_keep_their_coefficient(ratings):
    X, y = ratings
    coef = {}
    for scale in (1.0, 1e-300):
        wide = np.column_stack([X, (np.arange(len(y)) % 5) * scale])
        coef[scale] = _model(n_components=0).fit(wide, y).coef_[0]
    assert coef[1e-300] * 1e-300 == pytest.approx(coef[1.0], rel=1e-6)


def test_bayesian_fits_ratings_of_a_tiny_spread(ratings):
    X, y = ratings
    model = BayesianMatrixFactorization(
        n_components=2, n_iter=6, burn_in=2, random_state=0
    ).fit(X, y * 1e-200)
    reference = BayesianMatrixFactorization(
        n_components=2, n_iter=6, burn_in=2, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(model.predict(X) * 1e200, reference.predict(X))


@pytest.mark.parametrize(
    "users",
    [[[(1, 2), 10], [3, 11], [(1,), 10]], [["\ud800", 1], ["x", 2], ["x", 1]]],
    ids=["tuples and scalars", "lone surrogate"],
)
def test_unusual_hashable_ids_fit(users):
    model = _model().fit(users, [1.0, 2.0, 3.0])
    assert len(model.users_) == 3 - (users[1][0] == users[2][0])
    np.testing.assert_array_equal(model.predict(users), model.predict(users))


def test_recommend_takes_nul_byte_candidates_and_rejects_generators():
    model = _model().fit([["v", "x\x00"], ["v", "x"], ["w", "x"]], [1.0, 2.0, 3.0])
    ids, _ = model.recommend(["w"], n=2, items=["x\x00", "x"], exclude_seen=False)
    assert sorted(ids[0]) == ["x", "x\x00"]
    with pytest.raises(TypeError, match="users must be an array-like"):
        model.recommend((u for u in ["v"]), n=1)
    with pytest.raises(TypeError, match="items must be an array-like"):
        model.similar_items(iter(["x"]), n=1)


def test_huge_user_features_in_recommend_are_rejected(ratings):
    X, y = ratings
    X = np.column_stack([X, X[:, 0] % 2])
    model = _model(feature_factors=True).fit(X, y)
    with pytest.raises(ValueError, match="user_features.*above 1e\\+150"):
        model.recommend([999], n=2, user_features=[[1.7e308]])


def test_make_ratings_refuses_overflowing_ratings():
    with pytest.raises(ValueError, match="overflow"):
        make_ratings(n_users=5, n_items=5, n_ratings=3, factor_std=1e160)


@pytest.mark.parametrize("name", ["n_components", "max_iter", "cg_steps"])
def test_a_bool_is_not_a_count(ratings, name):
    X, y = ratings
    with pytest.raises(TypeError, match=f"{name} must be an int, not a bool"):
        _model(**{name: True}).fit(X, y)


def test_a_zero_dimensional_x_names_x(ratings):
    X, y = ratings
    model = _model().fit(X, y)
    with pytest.raises(ValueError, match="Expected a 2D array for X"):
        model.predict(np.array(5))


@pytest.mark.parametrize("solver", ["cg", "als", "sgd"])
def test_the_rows_in_any_order_give_the_same_model(solver):
    # The global mean and spread are exactly rounded sums: a mean one unit in the
    # last place away moves a fit whose factors are read in float32 by far more.
    X, y, _ = make_ratings(n_users=80, n_items=60, n_ratings=1500, random_state=4)
    X, keep = np.unique(X, axis=0, return_index=True)  # no repeated pairs: their
    y = y[keep]  # order within a row is the input's
    weight = np.random.default_rng(0).uniform(0.1, 3.0, y.shape[0])
    order = np.random.default_rng(1).permutation(y.shape[0])
    params = dict(n_components=4, alpha=0.1, max_iter=5, solver=solver, random_state=0)
    model = MatrixFactorization(**params).fit(X, y, weight)
    shuffled = MatrixFactorization(**params).fit(X[order], y[order], weight[order])
    assert shuffled.global_mean_ == model.global_mean_
    assert shuffled.rating_scale_ == model.rating_scale_
    np.testing.assert_array_equal(shuffled.predict(X), model.predict(X))
