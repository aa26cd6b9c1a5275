"""Shared fixtures: the real rating data, found through SKLEARN_MF_DATA."""

import os
from pathlib import Path

import pandas as pd
import pytest

from tests._problems import small_implicit_problem

_MOVIELENS = ("ml-100k", "ml-1m", "ml-latest-small")

# The thread budget as the session started: the Dask tests' local cluster sets
# OMP_NUM_THREADS=1 in this process for good, which would hold every later fit to
# one thread (and leave the threaded kernel builds untested).
_OMP_NUM_THREADS = os.environ.get("OMP_NUM_THREADS")


@pytest.fixture(autouse=True)
def _session_thread_budget(request, monkeypatch):
    if "dask" in request.node.nodeid.split("/"):
        return
    if _OMP_NUM_THREADS is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", _OMP_NUM_THREADS)


def _in_ci() -> bool:
    # CI services set CI=true; an explicit CI=0/false means a local run.
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _data_home(folders) -> Path:
    """The ``SKLEARN_MF_DATA`` folder, if it holds ``folders``.

    Skips the test when they are absent, unless the ``CI`` environment variable is
    set: there missing data fail the run loudly, so that the tests on real data can
    never be skipped silently in CI.
    """
    root = os.environ.get("SKLEARN_MF_DATA", "")
    missing = [f for f in folders if not root or not (Path(root) / f).is_dir()]
    if missing:
        reason = (
            f"Rating data not found ({', '.join(missing)}): set SKLEARN_MF_DATA "
            "to the folder holding them"
        )
        if _in_ci():
            pytest.fail(f"{reason}. They are required when CI is set.", pytrace=False)
        pytest.skip(reason)
    return Path(root)


@pytest.fixture(scope="session")
def movielens_home() -> Path:
    """The ``SKLEARN_MF_DATA`` folder holding the real MovieLens copies."""
    return _data_home(_MOVIELENS)


@pytest.fixture(scope="session")
def ml100k(movielens_home):
    """ML-100K as (X DataFrame [user, item], y Series)."""
    from sklearn_mf.datasets import fetch_movielens

    return fetch_movielens("100k", download_if_missing=False, return_X_y=True)


@pytest.fixture(scope="session")
def ciaodvd():
    """CiaoDVD (DVDs rated 1..5, a median of one rating per user and per item) as
    (X DataFrame [user, item], y Series). Its copy is not the official archive, so
    the package has no loader for it; SOURCE.txt in its folder describes it."""
    table = pd.read_csv(
        _data_home(["ciaodvd"]) / "ciaodvd" / "movie-ratings.txt",
        header=None,
        names=["user", "item", "genre", "review", "rating", "date"],
    )
    return table[["user", "item"]], table["rating"].astype(float)


@pytest.fixture
def small_data():
    """A small implicit-feedback problem: ``(RatingData, FactorModel)``."""
    return small_implicit_problem()
