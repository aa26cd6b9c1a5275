"""DaskMatrixFactorization on a local cluster: the local fit's model, whatever the
partitions, and clear errors for what it does not take."""

import pickle

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sklearn_mf import MatrixFactorization
from sklearn_mf.dask import DaskMatrixFactorization
from sklearn_mf.datasets import make_ratings

# Sums over blocks instead of over all ratings (the global mean, the loss) round
# differently; everything else is the local fit's arithmetic.
TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def ratings():
    X, y, _ = make_ratings(n_users=120, n_items=80, n_ratings=3000, random_state=0)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user": [f"u{u}" for u in X[:, 0]],
            "item": X[:, 1],
            "age": rng.normal(size=len(y)),
            "weekday": rng.integers(0, 7, len(y)).astype(float),
        }
    )
    return frame, y, rng.uniform(0.5, 2.0, len(y))


def _frames(frame, y, weight, npartitions):
    return (
        dd.from_pandas(frame, npartitions=npartitions, sort=False),
        dd.from_pandas(pd.Series(y), npartitions=npartitions, sort=False),
        dd.from_pandas(pd.Series(weight), npartitions=npartitions, sort=False),
    )


PARAMS = dict(n_components=5, alpha=0.1, max_iter=8, random_state=0)


@pytest.mark.parametrize("solver", ["cg", "als"])
@pytest.mark.parametrize("npartitions", [1, 4])
def test_the_local_model_for_any_partitions(client, ratings, solver, npartitions):
    frame, y, weight = ratings
    local = MatrixFactorization(solver=solver, **PARAMS).fit(frame, y, weight)
    X, dy, dweight = _frames(frame, y, weight, npartitions)
    model = DaskMatrixFactorization(solver=solver, **PARAMS).fit(X, dy, dweight)
    for name in ("user_factors_", "item_factors_", "user_bias_", "coef_"):
        np.testing.assert_allclose(
            getattr(model, name), getattr(local, name), rtol=0, atol=TOLERANCE
        )
    np.testing.assert_array_equal(model.users_, local.users_)
    np.testing.assert_allclose(model.loss_curve_, local.loss_curve_, rtol=1e-12)
    assert model.n_iter_ == local.n_iter_
    predicted = model.predict(dd.from_pandas(frame, npartitions=3, sort=False))
    assert isinstance(predicted, da.Array)
    np.testing.assert_allclose(
        predicted.compute(), local.predict(frame), rtol=0, atol=TOLERANCE
    )
    np.testing.assert_array_equal(model.feature_names_in_, local.feature_names_in_)


def test_arrays_without_weights_or_features_give_the_same_model(client):
    X, y, _ = make_ratings(n_users=90, n_items=70, n_ratings=2000, random_state=1)
    local = MatrixFactorization(**PARAMS).fit(X, y)
    model = DaskMatrixFactorization(**PARAMS).fit(
        da.from_array(X, chunks=(700, 1)), da.from_array(y, chunks=500)
    )
    np.testing.assert_allclose(
        model.predict(da.from_array(X, chunks=(900, 2))).compute(),
        local.predict(X),
        rtol=0,
        atol=TOLERANCE,
    )
    assert model.n_features_in_ == 2 and not hasattr(model, "feature_names_in_")


@pytest.mark.parametrize("solver", ["cg", "als"])
def test_without_features_the_same_statistics_and_model(client, ratings, solver):
    # Only the coefficient step (with features) adds its sums block by block; the
    # statistics are exactly rounded sums (equal), the row solves the local fit's.
    frame, y, weight = ratings
    frame = frame[["user", "item"]]
    local = MatrixFactorization(solver=solver, **PARAMS).fit(frame, y, weight)
    model = DaskMatrixFactorization(solver=solver, **PARAMS).fit(
        *_frames(frame, y, weight, 3)
    )
    for name in ("global_mean_", "rating_scale_", "weight_scale"):
        assert getattr(model._state, name.rstrip("_")) == getattr(
            local._state, name.rstrip("_")
        )
    # Bit for bit where both run the same compiled kernels (as on a machine whose
    # numba cache is warm); a fresh compilation of the fast-math kernels in one
    # process and not the other may round the last bits differently.
    for name in ("user_factors_", "item_bias_"):
        np.testing.assert_allclose(
            getattr(model, name), getattr(local, name), rtol=0, atol=1e-12
        )
    np.testing.assert_allclose(
        model.to_local().predict(frame), local.predict(frame), rtol=0, atol=1e-12
    )


def test_to_local_recommends_folds_in_and_pickles(client, ratings):
    frame, y, weight = ratings
    local = MatrixFactorization(**PARAMS).fit(frame, y, weight)
    model = DaskMatrixFactorization(**PARAMS).fit(*_frames(frame, y, weight, 3))
    twin = model.to_local()
    assert type(twin) is MatrixFactorization
    assert twin.get_params() == local.get_params()
    users = ["u0", "u5", "unknown"]
    items, scores = twin.recommend(users, n=5)
    local_items, local_scores = local.recommend(users, n=5)
    np.testing.assert_array_equal(items, local_items)
    np.testing.assert_allclose(scores, local_scores, rtol=0, atol=TOLERANCE)
    new = pd.DataFrame({"user": ["new"] * 3, "item": [1, 2, 3]})
    new[["age", "weekday"]] = 0.0
    twin.partial_fit(new, [4.0, 3.0, 5.0])
    local.partial_fit(new, [4.0, 3.0, 5.0])
    np.testing.assert_allclose(
        twin.predict(new), local.predict(new), rtol=0, atol=TOLERANCE
    )
    restored = pickle.loads(pickle.dumps(twin))
    np.testing.assert_array_equal(restored.predict(frame), twin.predict(frame))


def test_a_pickled_dask_model_predicts_but_cannot_gather_its_ratings(client, ratings):
    frame, y, weight = ratings
    model = DaskMatrixFactorization(**PARAMS).fit(*_frames(frame, y, weight, 2))
    restored = pickle.loads(pickle.dumps(model))
    X = dd.from_pandas(frame, npartitions=2)
    np.testing.assert_array_equal(
        restored.predict(X).compute(), model.predict(X).compute()
    )
    with pytest.raises(ValueError, match="before pickling"):
        restored.to_local()


def test_a_fit_that_raises_keeps_the_previous_model(client, ratings):
    frame, y, weight = ratings
    X, dy, dweight = _frames(frame, y, weight, 2)
    model = DaskMatrixFactorization(**PARAMS).fit(X, dy)
    before = model.user_factors_
    bad = y.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="y"):
        model.fit(X, dd.from_pandas(pd.Series(bad), npartitions=2, sort=False))
    assert model.user_factors_ is before


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "sgd"}, "solver"),
        ({"alpha": "auto"}, "alpha"),
        ({"implicit_feedback": True}, "implicit_feedback"),
        ({"feature_factors": True}, "feature_factors"),
        ({"early_stopping": True}, "early_stopping"),
        ({"warm_start": True}, "warm_start"),
        ({"n_components": True}, "n_components"),
    ],
)
def test_unsupported_options_are_named(client, ratings, params, message):
    frame, y, weight = ratings
    with pytest.raises((ValueError, TypeError), match=message):
        DaskMatrixFactorization(**params).fit(*_frames(frame, y, weight, 2)[:2])


def test_input_that_is_not_dask_or_not_aligned(client, ratings):
    frame, y, weight = ratings
    X, dy, _ = _frames(frame, y, weight, 2)
    with pytest.raises(TypeError, match="Dask collections"):
        DaskMatrixFactorization().fit(frame, y)
    with pytest.raises(ValueError, match="same partitions"):
        DaskMatrixFactorization().fit(X, dd.from_pandas(pd.Series(y), npartitions=3))
    with pytest.raises(ValueError, match="two-dimensional"):
        DaskMatrixFactorization().fit(dy, dy)


def test_convergence_warning_and_clone(client, ratings):
    frame, y, weight = ratings
    model = DaskMatrixFactorization(n_components=3, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model.fit(*_frames(frame, y, weight, 2)[:2])
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "user_factors_")


@pytest.mark.parametrize("n_workers, threads", [(1, 1), (3, 1), (2, 2)])
def test_the_local_model_for_any_number_of_workers(ratings, n_workers, threads):
    # Blocks per side = threads of the cluster: 1, 3 and 4 here (2 with the shared
    # cluster of the other tests).
    from distributed import Client, LocalCluster

    frame, y, weight = ratings
    local = MatrixFactorization(**PARAMS).fit(frame, y, weight)
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads,
            processes=False,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster, set_as_default=False) as own,
    ):
        model = DaskMatrixFactorization(client=own, **PARAMS).fit(
            *_frames(frame, y, weight, 5)
        )
    np.testing.assert_allclose(
        model.user_factors_, local.user_factors_, rtol=0, atol=TOLERANCE
    )
    np.testing.assert_allclose(
        model.item_factors_, local.item_factors_, rtol=0, atol=TOLERANCE
    )


def test_empty_partitions_are_no_ratings(client, ratings):
    frame, y, weight = ratings
    cut = len(y) // 3  # rows of the first of four partitions only
    local = MatrixFactorization(**PARAMS).fit(frame[:cut], y[:cut], weight[:cut])

    def first_rows(collection, stop):
        return collection.map_partitions(lambda part: part[part.index < stop])

    X, dy, dweight = _frames(frame, y, weight, 4)
    model = DaskMatrixFactorization(**PARAMS).fit(
        first_rows(X, cut), first_rows(dy, cut), first_rows(dweight, cut)
    )
    np.testing.assert_allclose(
        model.user_factors_, local.user_factors_, rtol=0, atol=TOLERANCE
    )
    with pytest.raises(ValueError, match="no ratings"):
        DaskMatrixFactorization(**PARAMS).fit(first_rows(X, 0), first_rows(dy, 0))


def test_pickling_and_cloning_leave_the_model_and_share_the_client(client, ratings):
    frame, y, weight = ratings
    model = DaskMatrixFactorization(client=client, **PARAMS).fit(
        *_frames(frame, y, weight, 2)
    )
    restored = pickle.loads(pickle.dumps(model))
    assert restored.client is None and model.client is client
    model.to_local()  # pickling did not strip the fitted estimator
    twin = clone(model)
    assert twin.client is client and twin.get_params() == model.get_params()


def test_empty_partitions_in_predict_and_a_partition_without_weight(client, ratings):
    frame, y, weight = ratings
    weight = weight.copy()
    weight[: len(y) // 2] = 0.0  # the first of two partitions weighs nothing
    local = MatrixFactorization(**PARAMS).fit(frame, y, weight)
    model = DaskMatrixFactorization(**PARAMS).fit(*_frames(frame, y, weight, 2))
    np.testing.assert_allclose(
        model.item_factors_, local.item_factors_, rtol=0, atol=TOLERANCE
    )
    X = _frames(frame, y, weight, 4)[0]
    kept = X.map_partitions(lambda part: part[part.index < len(y) // 4])
    predicted = model.predict(kept).compute()
    np.testing.assert_allclose(
        predicted, local.predict(frame[: len(y) // 4]), rtol=0, atol=TOLERANCE
    )


def test_features_with_vectors_gathered_in_float32(client, ratings, monkeypatch):
    # As for factor matrices above 16 MiB: the half-steps read the other side in
    # float32, the feature coefficients' step and the loss do not.
    from sklearn_mf._solvers import _als

    monkeypatch.setattr(_als, "FLOAT32_GATHER_BYTES", 0)
    frame, y, weight = ratings
    local = MatrixFactorization(**PARAMS).fit(frame, y, weight)
    model = DaskMatrixFactorization(**PARAMS).fit(*_frames(frame, y, weight, 3))
    np.testing.assert_allclose(model.coef_, local.coef_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(
        model.user_factors_, local.user_factors_, rtol=0, atol=TOLERANCE
    )
