"""The fitted state: partial_fit swaps it whole, a failed fit leaves it, every array
is held once, and the public fitted attributes are read-only views of it."""

import dataclasses
import io
import pickle
import threading
import time
import warnings

import joblib
import numba
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
from sklearn_mf.datasets import make_ratings

SOLVERS = ["cg", "als", "sgd"]
MF_ATTRIBUTES = [
    "global_mean_",
    "rating_scale_",
    "users_",
    "items_",
    "user_bias_",
    "item_bias_",
    "user_factors_",
    "item_factors_",
    "coef_",
    "rating_range_",
    "n_iter_",
    "loss_curve_",
    "validation_scores_",
    "alpha_",
    "alpha_scores_",
    "item_implicit_factors_",
    "user_implicit_factors_",
    "feature_sides_",
    "feature_factors_",
]
BAYESIAN_ATTRIBUTES = [
    "users_",
    "user_factors_",
    "user_bias_",
    "coef_",
    "n_iter_",
    "noise_precision_",
    "noise_precision_trace_",
]


@pytest.fixture(scope="module")
def ratings():
    X, y, _ = make_ratings(
        n_users=40, n_items=25, n_ratings=500, n_components=3, random_state=0
    )
    return X, y


def _fitted(X, y, **params):
    params = {"n_components": 3, "alpha": 0.1, "random_state": 0, **params}
    return MatrixFactorization(**params).fit(X, y)


def _bayesian(X, y, **params):
    params = {
        "n_components": 2,
        "n_iter": 8,
        "burn_in": 4,
        "random_state": 0,
        **params,
    }
    return BayesianMatrixFactorization(**params).fit(X, y)


def _query(users, items):
    """Every (user, item) pair of the two id lists, as rows of X."""
    return np.array([[u, i] for u in users for i in items])


def _snapshot(value):
    """A deep copy of every array (and list) of a fitted state, keyed by field path."""
    if dataclasses.is_dataclass(value):
        return {
            f.name: _snapshot(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, (list, dict, tuple)):
        return pickle.loads(pickle.dumps(value))
    return value


def _assert_unchanged(state, snapshot, path="state"):
    """Every array of ``state`` is bit-identical to its copy in ``snapshot``."""
    if dataclasses.is_dataclass(state):
        for f in dataclasses.fields(state):
            _assert_unchanged(
                getattr(state, f.name), snapshot[f.name], f"{path}.{f.name}"
            )
    elif isinstance(state, np.ndarray):
        assert state.dtype == snapshot.dtype, path
        assert state.shape == snapshot.shape, path
        if state.dtype == object:
            np.testing.assert_array_equal(state, snapshot, err_msg=path)
        else:
            assert state.tobytes() == snapshot.tobytes(), path
    else:
        assert state == snapshot, path


def _state_arrays(state):
    """The ndarray fields of a state's sides and history, by path."""
    arrays = {}
    for side in ("users", "items"):
        for f in dataclasses.fields(getattr(state, side)):
            value = getattr(getattr(state, side), f.name)
            if isinstance(value, np.ndarray):
                arrays[f"{side}.{f.name}"] = value
    for f in dataclasses.fields(state.history):
        value = getattr(state.history, f.name)
        if isinstance(value, np.ndarray):
            arrays[f"history.{f.name}"] = value
    return arrays


# New users (100, 101), new items (50, 51), and ratings of known users.
NEW_X = np.array(
    [[100, 0], [100, 3], [100, 50], [101, 7], [101, 51], [3, 50], [3, 20], [7, 51]]
)
NEW_Y = np.array([4.0, 2.0, 5.0, 3.5, 1.0, 4.5, 2.5, 3.0])


# 1. partial_fit builds a new state and never writes the old one.


def test_partial_fit_leaves_the_old_state_untouched(ratings):
    X, y = ratings
    model = _fitted(X, y)
    query = _query([0, 3, 7, 12, 100, 101], [0, 3, 7, 20, 50, 51])
    old = model._state
    snapshot = _snapshot(old)
    old_arrays = _state_arrays(old)
    old_predictions = model.predict(query)
    old_recommended = model.recommend([0, 3, 7, 100], n=5)

    model.partial_fit(NEW_X, NEW_Y)

    assert model._state is not old
    assert {100, 101} <= set(model.users_) and {50, 51} <= set(model.items_)
    assert len(model.users_) == len(old.users.ids) + 2
    assert len(model.items_) == len(old.items.ids) + 2
    # Every array of the old state keeps its bytes, and the new state shares none
    # of them: they are new arrays.
    _assert_unchanged(old, snapshot)
    for name, array in _state_arrays(model._state).items():
        for old_name, old_array in old_arrays.items():
            if old_array.size and array.size:
                assert not np.shares_memory(array, old_array), (name, old_name)
    new_predictions = model.predict(query)
    assert not np.array_equal(new_predictions, old_predictions)
    # The old state still predicts and recommends what it did.
    new = model._state
    model._install(old)
    np.testing.assert_array_equal(model.predict(query), old_predictions)
    recommended = model.recommend([0, 3, 7, 100], n=5)
    np.testing.assert_array_equal(recommended[0], old_recommended[0])
    np.testing.assert_array_equal(recommended[1], old_recommended[1])
    model._install(new)
    np.testing.assert_array_equal(model.predict(query), new_predictions)


@pytest.mark.parametrize("solver", SOLVERS)
def test_partial_fit_of_known_ids_leaves_the_old_state_untouched(ratings, solver):
    # No new id: every side keeps its number of rows, and still gets new arrays.
    X, y = ratings
    model = _fitted(X, y, solver=solver, max_iter=5, tol=None)
    old = model._state
    snapshot = _snapshot(old)
    query = _query([0, 3, 7], [0, 20, 21])
    before = model.predict(query)
    model.partial_fit(np.array([[3, 20], [7, 21], [0, 21]]), [5.0, 1.0, 4.5])
    assert len(model.users_) == len(old.users.ids)
    _assert_unchanged(old, snapshot)
    for name, array in _state_arrays(model._state).items():
        assert not np.shares_memory(array, _state_arrays(old)[name]), name
    assert not np.array_equal(model.predict(query), before)
    model._install(old)
    np.testing.assert_array_equal(model.predict(query), before)


def test_warm_start_fit_leaves_the_old_state_untouched(ratings):
    X, y = ratings
    model = _fitted(X, y, warm_start=True, max_iter=5, tol=None)
    old = model._state
    snapshot = _snapshot(old)
    model.fit(np.vstack([X, NEW_X]), np.concatenate([y, NEW_Y]))
    assert model._state is not old
    _assert_unchanged(old, snapshot)


def test_partial_fit_with_weights_leaves_the_old_state_untouched(ratings):
    X, y = ratings
    weight = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    model = MatrixFactorization(n_components=3, alpha=0.1, random_state=0)
    model.fit(X, y, sample_weight=weight)
    old = model._state
    snapshot = _snapshot(old)
    query = _query([0, 3, 100], [0, 20, 50])
    before = model.predict(query)
    model.partial_fit(NEW_X, NEW_Y, sample_weight=np.full(len(NEW_Y), 2.0))
    _assert_unchanged(old, snapshot)
    assert model._state.history.weight is not old.history.weight
    model._install(old)
    np.testing.assert_array_equal(model.predict(query), before)


def test_failed_partial_fit_keeps_the_state(ratings):
    X, y = ratings
    model = _fitted(X, y)
    old = model._state
    snapshot = _snapshot(old)
    with pytest.raises(ValueError):
        model.partial_fit(NEW_X, np.where(np.arange(len(NEW_Y)) == 2, np.nan, NEW_Y))
    with pytest.raises(ValueError):
        model.partial_fit(np.hstack([NEW_X, NEW_X[:, :1]]), NEW_Y)
    assert model._state is old
    _assert_unchanged(old, snapshot)
    assert model.n_features_in_ == 2


def test_predict_during_partial_fit_sees_one_whole_state(ratings):
    X, y = ratings
    model = _fitted(X, y)
    if numba.threading_layer() == "workqueue":  # set by the fit's parallel kernels
        pytest.skip("numba's workqueue layer cannot run kernels from two threads")
    new_users, new_items = range(100, 106), range(50, 56)
    query = _query([0, 3, 7, *new_users], [0, 5, 11, *new_items])
    batches = [
        (
            np.array([[u, 1], [u, 4], [u, i], [k, i]]),
            np.array([4.0, 2.0, 5.0, 1.5]),
        )
        for k, (u, i) in enumerate(zip(new_users, new_items, strict=True))
    ]
    states = [model._state]
    seen, errors = [], []
    stop = threading.Event()

    def read():
        try:
            while True:
                done = stop.is_set()  # one more predict after the last install
                seen.append(model.predict(query))
                if done:
                    return
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def await_two_predictions():
        # The second of them starts after the first ends, hence after this call:
        # it reads the state installed last.
        target = len(seen) + 2
        deadline = time.monotonic() + 60
        while len(seen) < target and not errors and reader.is_alive():
            assert time.monotonic() < deadline, "the reader stopped predicting"
            time.sleep(0.0005)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for batch in batches:
            await_two_predictions()
            model.partial_fit(*batch)  # while the reader keeps predicting
            states.append(model._state)
        await_two_predictions()
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    assert not errors, errors

    expected = []
    for state in states:
        model._install(state)
        expected.append(model.predict(query))
    # Each call adds a user and an item of the query: each state predicts apart.
    for before, after in zip(expected[:-1], expected[1:], strict=True):
        assert not np.array_equal(before, after)
    # Every prediction is one state's, in the order they were installed, the last
    # one (made after the last install) the final state's.
    indices = []
    for prediction in seen:
        matches = [k for k, e in enumerate(expected) if np.array_equal(prediction, e)]
        assert len(matches) == 1
        indices.append(matches[0])
    assert indices == sorted(indices)
    assert indices[-1] == len(states) - 1
    assert set(indices) == set(range(len(states)))  # every state was read


# 2. A fit that raises leaves the previous state and input metadata.


def _frames(X, y):
    frame = pd.DataFrame({"user": X[:, 0], "item": X[:, 1]})
    other = pd.DataFrame(
        {"u": X[:10, 0], "i": X[:10, 1], "age": np.arange(10, dtype=float)}
    )
    return frame, other


def _assert_as_before(model, state, frame, predictions):
    assert model._state is state
    assert model.n_features_in_ == 2
    np.testing.assert_array_equal(model.feature_names_in_, ["user", "item"])
    check_is_fitted(model)
    np.testing.assert_array_equal(model.predict(frame), predictions)


@pytest.mark.parametrize(
    "failure", ["nan_y", "trainer", "early_stopping", "warm_start", "numpy"]
)
def test_failed_fit_keeps_the_previous_model(ratings, monkeypatch, failure):
    X, y = ratings
    frame, other = _frames(X, y)
    model = _fitted(frame, y)
    state = model._state
    snapshot = _snapshot(state)
    predictions = model.predict(frame)
    other_y = y[:10].copy()
    if failure == "nan_y":
        other_y[4] = np.nan
        expected = pytest.raises(ValueError, match="NaN")
    elif failure == "trainer":

        def fail(self, *args, **kwargs):
            raise RuntimeError("failed mid-fit")

        monkeypatch.setattr(MatrixFactorization, "_trained_state", fail)
        expected = pytest.raises(RuntimeError, match="failed mid-fit")
    elif failure == "early_stopping":
        # Holding out 99% of 10 ratings leaves none to train on: a ValueError raised
        # by the trainer after validation set the new metadata.
        model.set_params(early_stopping=True, validation_fraction=0.99)
        expected = pytest.raises(ValueError, match="early_stopping")
    elif failure == "warm_start":
        # Warm start from a model of another width fails in the trainer.
        model.set_params(warm_start=True, n_components=4)
        expected = pytest.raises(ValueError, match="warm_start")
    else:
        # A numpy X drops feature_names_in_ during validation; NaN y then fails.
        other = other.to_numpy()
        other_y[0] = np.nan
        expected = pytest.raises(ValueError)
    with expected:
        model.fit(other, other_y)
    model.set_params(early_stopping=False, warm_start=False, n_components=3)
    _assert_as_before(model, state, frame, predictions)
    _assert_unchanged(state, snapshot)


def test_failed_bayesian_fit_keeps_the_previous_model(ratings, monkeypatch):
    X, y = ratings
    frame, other = _frames(X, y)
    model = _bayesian(frame, y)
    state = model._state
    predictions, std = model.predict(frame, return_std=True)

    model.set_params(burn_in=model.n_iter)
    with pytest.raises(ValueError, match="burn_in"):
        model.fit(other, y[:10])
    model.set_params(burn_in=4)
    _assert_as_before(model, state, frame, predictions)

    def fail(self, *args, **kwargs):
        raise RuntimeError("failed mid-fit")

    monkeypatch.setattr(BayesianMatrixFactorization, "_sampled_state", fail)
    with pytest.raises(RuntimeError, match="failed mid-fit"):
        model.fit(other, y[:10])
    _assert_as_before(model, state, frame, predictions)
    np.testing.assert_array_equal(model.predict(frame, return_std=True)[1], std)


def _assert_unfitted(model):
    assert "_state" not in model.__dict__
    assert not hasattr(model, "n_features_in_")
    assert not hasattr(model, "feature_names_in_")
    assert not hasattr(model, "users_")
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict([[0, 0]])


def test_failed_first_fit_leaves_the_estimator_unfitted(ratings, monkeypatch):
    X, y = ratings
    _, other = _frames(X, y)
    bad_y = y[:10].copy()
    bad_y[3] = np.nan
    model = MatrixFactorization(n_components=3, alpha=0.1, random_state=0)
    with pytest.raises(ValueError):
        model.fit(other, bad_y)
    _assert_unfitted(model)
    with pytest.raises(ValueError):
        model.partial_fit(other, bad_y)  # partial_fit of an unfitted model is fit
    _assert_unfitted(model)
    model.set_params(early_stopping=True, validation_fraction=0.99)
    with pytest.raises(ValueError, match="early_stopping"):
        model.fit(other, y[:10])
    _assert_unfitted(model)

    bayesian = BayesianMatrixFactorization(n_components=2, n_iter=8, burn_in=4)

    def fail(self, *args, **kwargs):
        raise RuntimeError("failed mid-fit")

    monkeypatch.setattr(BayesianMatrixFactorization, "_sampled_state", fail)
    with pytest.raises(RuntimeError):
        bayesian.fit(other, y[:10])
    _assert_unfitted(bayesian)


# 3. Every array is held once.


def _single_storage(state):
    return all(
        side.full_vectors is None and side.vectors is side.factors
        for side in (state.users, state.items)
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_vectors_are_the_factors(ratings, solver):
    X, y = ratings
    model = _fitted(X, y, solver=solver, max_iter=5, tol=None)
    assert _single_storage(model._state)
    assert model._state.users.implicit is None and model._state.items.implicit is None
    assert model.user_factors_.dtype == np.float64
    n_users, n_items = len(model.users_), len(model.items_)
    model.partial_fit(np.array([[100, 0], [100, 50], [3, 50]]), [4.0, 2.0, 3.0])
    assert _single_storage(model._state)
    assert model.user_factors_.shape == (n_users + 1, 3)
    assert model.item_factors_.shape == (n_items + 1, 3)


@pytest.mark.parametrize("solver", SOLVERS)
def test_fitted_arrays_are_read_only_views_of_the_state(ratings, solver):
    X, y = ratings
    model = _fitted(X, y, solver=solver, max_iter=5, tol=None)
    model.partial_fit(np.array([[100, 0], [100, 4], [100, 9]]), [5.0, 1.0, 4.0])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    for fitted in (model, pickle.loads(pickle.dumps(model)), joblib.load(buffer)):
        state = fitted._state
        assert _single_storage(state)
        assert fitted.user_factors_ is state.users.vectors
        assert fitted.item_factors_ is state.items.vectors
        before = fitted.predict(_query([3, 100], [0, 7]))
        for name in ("user_factors_", "item_factors_", "user_bias_", "coef_"):
            with pytest.raises(ValueError, match="read-only"):
                getattr(fitted, name)[...] = 0.0
        assert not state.history.items.flags.writeable
        np.testing.assert_array_equal(fitted.predict(_query([3, 100], [0, 7])), before)


def test_sgd_pickle_is_as_small_as_cg(ratings):
    X, y = ratings
    sizes = {}
    for solver in ("cg", "sgd"):
        model = _fitted(X, y, solver=solver, n_components=32, max_iter=3, tol=None)
        assert model.user_factors_.shape == (40, 32)
        sizes[solver] = len(pickle.dumps(model))
        # The unpickled state still holds the factors once.
        assert _single_storage(pickle.loads(pickle.dumps(model))._state)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        assert abs(buffer.tell() - sizes[solver]) <= 0.1 * sizes[solver]
    factor_bytes = (40 + 25) * 32 * 8
    assert abs(sizes["sgd"] - sizes["cg"]) <= 0.1 * sizes["cg"]
    # A second copy of the vectors would add this much: the 10% above excludes it.
    assert factor_bytes > 0.2 * sizes["cg"]


def test_implicit_vectors_are_separate_arrays(ratings):
    X, y = ratings
    model = _fitted(X, y, implicit_feedback=True, max_iter=5, tol=None)
    state = model._state
    assert state.users.full_vectors is not None
    assert not np.shares_memory(state.users.vectors, state.users.factors)
    assert model.item_implicit_factors_ is not None
    assert model.item_implicit_factors_.shape == model.item_factors_.shape
    assert model.user_implicit_factors_ is None
    # The items get no implicit term: their vectors are their factors.
    assert state.items.full_vectors is None
    assert not hasattr(model, "partial_fit")


# 4. Read-only fitted attributes.


@pytest.mark.parametrize("name", MF_ATTRIBUTES)
def test_fitted_attributes_are_read_only(ratings, name):
    X, y = ratings
    unfitted = MatrixFactorization()
    assert not hasattr(unfitted, name)
    with pytest.raises(AttributeError, match="read-only"):
        setattr(unfitted, name, 1.0)
    model = _fitted(X, y, max_iter=3, tol=None)
    value = getattr(model, name)
    with pytest.raises(AttributeError, match="read-only"):
        setattr(model, name, value)
    assert getattr(model, name) is value


@pytest.mark.parametrize("name", BAYESIAN_ATTRIBUTES)
def test_bayesian_fitted_attributes_are_read_only(ratings, name):
    X, y = ratings
    assert not hasattr(BayesianMatrixFactorization(), name)
    model = _bayesian(X, y)
    with pytest.raises(AttributeError, match="read-only"):
        setattr(model, name, getattr(model, name))


def test_fitted_status_clone_and_pickle(ratings):
    X, y = ratings
    unfitted = MatrixFactorization()
    assert not hasattr(unfitted, "users_")
    with pytest.raises(NotFittedError):
        check_is_fitted(unfitted)
    model = _fitted(X, y)
    check_is_fitted(model)
    with pytest.raises(AttributeError, match="read-only"):
        model.user_factors_ = np.zeros_like(model.user_factors_)

    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert "_state" not in copy.__dict__ and not hasattr(copy, "users_")
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    check_is_fitted(model)  # the original stays fitted

    query = _query([0, 3, 7, 100], [0, 5, 24, 50])
    restored = pickle.loads(pickle.dumps(model))
    check_is_fitted(restored)
    np.testing.assert_array_equal(restored.predict(query), model.predict(query))
    for mine, theirs in zip(
        restored.recommend([0, 3, 100], n=4),
        model.recommend([0, 3, 100], n=4),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
    assert _single_storage(restored._state)
    with pytest.raises(AttributeError, match="read-only"):
        restored.users_ = None
    # partial_fit goes on from the restored state as from the original.
    restored.partial_fit(NEW_X, NEW_Y)
    model.partial_fit(NEW_X, NEW_Y)
    np.testing.assert_array_equal(restored.predict(query), model.predict(query))


def test_bayesian_pickle_keeps_predictions(ratings):
    X, y = ratings
    model = _bayesian(X, y)
    restored = pickle.loads(pickle.dumps(model))
    query = _query([0, 3, 100], [0, 5, 50])
    for mine, theirs in zip(
        restored.predict(query, return_std=True),
        model.predict(query, return_std=True),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
    assert not hasattr(clone(model), "noise_precision_")


def test_predict_during_fit_uses_the_installed_model(ratings, monkeypatch):
    X, y = ratings
    model = _fitted(X, y)
    query = _query([0, 3], [0, 5])
    before = model.predict(query)
    seen = []
    train = MatrixFactorization._trained_state

    def predict_then_train(self, *args):
        # The new fit's X has three columns; the installed model still reads two.
        seen.append(self.predict(query))
        return train(self, *args)

    monkeypatch.setattr(MatrixFactorization, "_trained_state", predict_then_train)
    wider = np.column_stack([X, np.arange(len(y)) % 3])
    model.fit(wider, y)
    np.testing.assert_array_equal(seen[0], before)
    assert model.n_features_in_ == 3


def test_convergence_warning_raised_as_error_keeps_the_previous_model(ratings):
    X, y = ratings
    model = _fitted(X, y)
    state = model._state
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            model.set_params(max_iter=1, tol=1e-12).fit(X, y)
    assert model._state is state
