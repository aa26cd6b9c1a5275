"""scikit-learn's model selection over MatrixFactorization on a Dask cluster, through
joblib's Dask backend: the same results as a local run, one numba thread per fit on
the one-thread workers, and numba's on-disk cache reused by fresh worker processes."""

import functools
import sys
import warnings

import cloudpickle
import joblib
import numba
import numpy as np
import pytest
from distributed import get_task_stream, get_worker
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings

# The functions below run on the workers, which need not be able to import this
# module: cloudpickle sends them (and whatever of this module they use) by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class _ByValue:
    """A function that pickles by value through plain ``pickle`` too.

    Dask tries plain ``pickle`` first, and cloudpickle only when that fails: a
    function of this module would go by reference, for the worker to import this
    module (which only works where the workers share this process's path).
    """

    def __init__(self, function):
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __reduce__(self):
        return cloudpickle.loads, (cloudpickle.dumps(self.__wrapped__),)


# Small and quick; tol=None runs every epoch, without a ConvergenceWarning.
PARAMS = {"n_components": 4, "max_iter": 8, "tol": None, "random_state": 0}


@pytest.fixture(scope="module")
def ratings():
    X, y, _ = make_ratings(n_users=200, n_items=100, n_ratings=3000, random_state=0)
    return X, y


def _test_scores(cv_results):
    """The test-score arrays of ``cv_results_``: the mean and every split's."""
    return {
        key: value
        for key, value in cv_results.items()
        if key.endswith("_test_score") and not key.startswith(("std_", "rank_"))
    }


def _on_dask(client, function):
    """``function()`` under joblib's Dask backend, and the keys of the tasks the
    cluster ran meanwhile (checked to be some, each run by one of its workers)."""
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        result = function()
    workers = set(client.scheduler_info()["workers"])
    tasks = [(task["key"], task["worker"]) for task in stream.data]
    assert tasks, "nothing ran on the cluster"
    assert all(worker in workers for _, worker in tasks)
    return result, [key for key, _ in tasks]


@pytest.mark.parametrize(
    "alpha, grid",
    [
        # An explicit penalty grid, and the default alpha="auto" (whose penalty
        # search runs inside each fit) over another parameter.
        (0.1, {"n_components": [2, 4], "alpha": [0.05, 0.1]}),
        ("auto", {"n_components": [2, 4], "alpha_bias": [0.05, 0.2]}),
    ],
)
def test_grid_search_on_dask_matches_local(client, ratings, alpha, grid):
    X, y = ratings
    # n_jobs=-1: two numba threads here, one on the one-thread workers; results
    # are documented to be identical for any n_jobs.
    estimator = MatrixFactorization(**{**PARAMS, "alpha": alpha, "n_jobs": -1})

    local = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    on_dask, keys = _on_dask(
        client, lambda: GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X, y)
    )

    assert any("_fit_and_score" in key for key in keys), keys
    local_scores = _test_scores(local.cv_results_)
    dask_scores = _test_scores(on_dask.cv_results_)
    assert sorted(local_scores) == sorted(dask_scores)
    assert len(local_scores) == 1 + 3  # the mean and the three splits
    for key, scores in local_scores.items():
        assert np.all(np.isfinite(scores))
        assert_array_equal(dask_scores[key], scores, err_msg=key)
    assert on_dask.best_params_ == local.best_params_
    assert on_dask.cv_results_["params"] == local.cv_results_["params"]
    # The refit of the best candidate (in this process both times) agrees too.
    assert_array_equal(on_dask.predict(X[:100]), local.predict(X[:100]))


@pytest.mark.parametrize("alpha", [0.1, "auto"])
def test_cross_val_score_on_dask_matches_local(client, ratings, alpha):
    X, y = ratings
    estimator = MatrixFactorization(**{**PARAMS, "alpha": alpha, "n_jobs": -1})

    local = cross_val_score(estimator, X, y, cv=3)
    on_dask, keys = _on_dask(
        client, lambda: cross_val_score(estimator, X, y, cv=3, n_jobs=-1)
    )

    assert any("_fit_and_score" in key for key in keys), keys
    assert local.shape == (3,) and np.all(np.isfinite(local))
    assert_array_equal(on_dask, local)


# Scorers for GridSearchCV that report on the worker that ran the fit instead of
# scoring it.


@_ByValue
def _on_worker(estimator, X, y):
    try:
        get_worker()
    except ValueError:  # not in a Dask worker
        return 0.0
    return 1.0


@_ByValue
def _thread_budget(estimator, X, y):
    from sklearn_mf.utils._threads import effective_threads

    return effective_threads(estimator.n_jobs)


@_ByValue
def _threads_in_block(estimator, X, y):
    from sklearn_mf.utils._threads import numba_threads

    with numba_threads(estimator.n_jobs) as n_threads:
        return n_threads


@_ByValue
def _threads_restored(estimator, X, y):
    from sklearn_mf.utils._threads import numba_threads

    before = numba.get_num_threads()
    with numba_threads(estimator.n_jobs):
        pass
    return float(numba.get_num_threads() == before)


@_ByValue
def _threads_during_fit(estimator, X, y):
    """The most numba threads the ALS kernel ran with, over a refit of a copy of
    ``estimator`` on ``X, y`` (the kernel is wrapped for the time of the refit)."""
    from sklearn.base import clone

    from sklearn_mf._solvers import _als as solver

    kernel = solver.als_cg_half_step
    seen = []

    def counting_kernel(*args):
        seen.append(numba.get_num_threads())
        return kernel(*args)

    solver.als_cg_half_step = counting_kernel
    try:
        clone(estimator).fit(X, y)
    finally:
        solver.als_cg_half_step = kernel
    assert seen, "the fit did not run the ALS kernel"
    return max(seen)


def test_no_oversubscription_on_dask_workers(client, ratings):
    X, y = ratings
    scoring = {
        "on_worker": _on_worker,
        "budget": _thread_budget,
        "in_block": _threads_in_block,
        "restored": _threads_restored,
        "during_fit": _threads_during_fit,
    }
    estimator = MatrixFactorization(**{**PARAMS, "n_components": 2, "n_jobs": -1})
    search = GridSearchCV(
        estimator,
        {"alpha": [0.05, 0.1]},
        cv=2,
        scoring=scoring,
        refit=False,
        n_jobs=-1,
    )
    _on_dask(client, lambda: search.fit(X, y))

    results = search.cv_results_
    # Every fit and score ran on a worker, which has one thread (and whose nanny
    # set OMP_NUM_THREADS=1): n_jobs=-1 means one numba thread there, for the
    # budget, for the thread block and during the fit itself, and the block gives
    # numba back its previous thread count.
    for name in scoring:
        for split in range(2):
            assert_array_equal(results[f"split{split}_test_{name}"], 1.0, name)
    # Here, outside the workers, the same measures follow this process's budget
    # (every CPU, unless OMP_NUM_THREADS or NUMBA_NUM_THREADS say fewer).
    assert _on_worker(estimator, X, y) == 0.0
    budget = _thread_budget(estimator, X, y)
    assert _threads_in_block(estimator, X, y) == budget
    assert _threads_during_fit(estimator, X, y) == budget


@_ByValue
def _fit_on_fresh_worker(X, y):
    """Fit and predict with n_jobs=-1 on a worker; report the warnings raised, the
    ALS kernel's cache statistics and the numba threads it ran with."""
    from sklearn_mf._kernels._als import als_cg_half_step

    # On one numba thread (see "threads") the fit runs the kernel's serial twin.
    kernel = als_cg_half_step.serial
    # Nothing compiled or loaded yet in this process.
    fresh = not kernel.overloads
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MatrixFactorization(**{**PARAMS, "n_jobs": -1}).fit(X, y)
        predictions = model.predict(X)
    stats = kernel.stats
    return {
        "fresh": fresh,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "cache_hits": sum(stats.cache_hits.values()),
        "cache_misses": sum(stats.cache_misses.values()),
        "threads": _threads_in_block(model, X, y),
        "predictions": predictions,
    }


def test_numba_cache_reused_on_fresh_worker(client, ratings):
    X, y = ratings
    # A fit here writes (or finds) the kernels' cache files; on one thread, as the
    # worker's fit runs, so that it writes the serial twins'.
    local = MatrixFactorization(**{**PARAMS, "n_jobs": 1}).fit(X, y)
    # New worker processes, which have compiled and loaded nothing.
    client.restart()

    report = client.submit(_fit_on_fresh_worker, X, y, pure=False).result()

    assert report["fresh"]
    assert report["cache_hits"] >= 1
    assert report["cache_misses"] == 0
    # No joblib warning (nor any other) about n_jobs inside the daemonic worker.
    assert report["warnings"] == []
    assert report["threads"] == 1
    assert_array_equal(report["predictions"], local.predict(X))
    # The function went by value: the worker did not import this module.
    assert not any(client.run(_imported_this_module).values())


@_ByValue
def _imported_this_module():
    return __name__ in sys.modules
