"""MatrixFactorization inside scikit-learn's tools: search, CV, pipelines, persistence."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings


@pytest.fixture(scope="module")
def ratings():
    X, y, _ = make_ratings(
        n_users=200, n_items=150, n_ratings=12_000, noise=0.4, random_state=1
    )
    return X, y


@pytest.fixture(scope="module")
def string_ratings(ratings):
    X, y = ratings
    frame = pd.DataFrame({"user": [f"u{u}" for u in X[:, 0]], "item": X[:, 1]})
    return frame, pd.Series(y, name="rating")


def test_cross_val_score_with_rmse(ratings):
    X, y = ratings
    scores = cross_val_score(
        MatrixFactorization(n_components=5, random_state=0),
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )
    assert scores.shape == (3,)
    assert np.all(-scores < np.std(y))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_rank_and_alpha(string_ratings, n_jobs):
    X, y = string_ratings
    search = GridSearchCV(
        MatrixFactorization(random_state=0, n_jobs=-1),
        {"n_components": [2, 5], "alpha": [0.02, 0.2]},
        cv=3,
        scoring="neg_root_mean_squared_error",
        n_jobs=n_jobs,
        error_score="raise",
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"n_components", "alpha"}
    assert search.best_estimator_.users_.dtype == object
    assert search.predict(X.iloc[:5]).shape == (5,)


def test_pipeline_with_scaled_side_features(ratings):
    X, y = ratings
    rng = np.random.RandomState(0)
    feature = rng.randn(len(y)) * 10 + 50
    frame = pd.DataFrame({"user": X[:, 0], "item": X[:, 1], "age": feature})
    y = y + 0.05 * (feature - 50)
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("ids", "passthrough", ["user", "item"]),
                        ("num", StandardScaler(), ["age"]),
                    ]
                ),
            ),
            ("mf", MatrixFactorization(n_components=5, random_state=0)),
        ]
    )
    pipe.fit(frame, y)
    assert pipe.named_steps["mf"].n_features_in_ == 3
    assert pipe.named_steps["mf"].coef_[0] > 0
    assert cross_val_score(pipe, frame, y, cv=3).mean() > 0


def test_clone_keeps_parameters_and_drops_fit(ratings):
    X, y = ratings
    model = MatrixFactorization(n_components=7, alpha=0.3, random_state=0).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "user_factors_")


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip_predicts_identically(string_ratings, tmp_path, dump):
    X, y = string_ratings
    model = MatrixFactorization(n_components=4, random_state=0).fit(X, y)
    path = tmp_path / "model.bin"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(model))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(model, path)
        loaded = joblib.load(path)
    queries = pd.concat(
        [X.iloc[:100], pd.DataFrame({"user": ["new"], "item": [10**6]})]
    )
    np.testing.assert_array_equal(loaded.predict(queries), model.predict(queries))


def test_score_is_r2(ratings):
    X, y = ratings
    model = MatrixFactorization(n_components=5, random_state=0).fit(X, y)
    assert 0 < model.score(X, y) <= 1


def test_fit_restores_the_numba_thread_count(ratings):
    import numba

    X, y = ratings
    before = numba.get_num_threads()
    MatrixFactorization(n_components=2, max_iter=2, n_jobs=1, random_state=0).fit(X, y)
    assert numba.get_num_threads() == before


def test_no_oversubscription_inside_parallel_grid_search(ratings):
    from sklearn_mf.utils._threads import effective_threads

    X, y = ratings

    def threads_in_worker(estimator, X, y):
        return effective_threads(estimator.n_jobs)

    search = GridSearchCV(
        MatrixFactorization(n_components=2, max_iter=2, n_jobs=-1, random_state=0),
        {"alpha": [0.05, 0.1]},
        cv=2,
        scoring=threads_in_worker,
        n_jobs=2,
    ).fit(X, y)
    # joblib gives each of its 2 workers an equal share of the CPUs through
    # NUMBA_NUM_THREADS, so n_jobs=-1 inside a worker cannot oversubscribe.
    assert np.all(
        search.cv_results_["mean_test_score"] == max(1, joblib.cpu_count() // 2)
    )
