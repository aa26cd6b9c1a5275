"""Cold start and fold-in: unseen items and users through their attributes, and
partial_fit against a full refit.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/cold_start.py \
        [--datasets ml-100k ml-1m] [--out benchmarks/results/cold_start]

Cold items: ``GroupKFold(5)`` by item, so every test item is unseen in training;
the item genres from the loader are the features. Cold users: the same grouped by
user, with age, gender and occupation (one-hot through a ``ColumnTransformer`` in a
``Pipeline``). Each split fits three default models: ids only (the bias fallback,
``mu + b_u`` for a cold item), the features in the linear term, and
``feature_factors=True``. RMSE is pooled over the unseen rows. For cold items, every
test user's scores of the fold's cold items are compared across users: the number of
distinct top-10 lists and the mean Spearman correlation of random user pairs.

Fold-in: 10% of the users (``random_state=0``) are held out of training; 10 random
ratings of each are folded in with one ``partial_fit`` call, and RMSE is measured on
their other ratings, against a full refit on the training rows plus those 10 ratings.
Both run with ``n_jobs=None``; the fold-in time is the median of 5 calls on copies of
the fitted model after one untimed call (the first in the process, which loads or
compiles the kernel; reported too), and the
refit the best of 2. The latency of folding in one user's 10 ratings is the median
over 100 users.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from _common import RESULTS, header_line, run_per_dataset
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import fetch_movielens

PACKAGES = ("sklearn-mf", "numpy", "numba", "scikit-learn")
DATASETS = ("ml-100k", "ml-1m")
DEFAULT_OUT = RESULTS / "cold_start"
MODELS = ("fallback", "linear", "feature_factors")
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
N_FOLD_IN = 10


def _model(name: str, columns: list[str]):
    """The model ``name`` on a frame of ids and the attribute ``columns``."""
    if name == "fallback":
        return make_pipeline(
            ColumnTransformer([("ids", "passthrough", ["user", "item"])]),
            MatrixFactorization(random_state=0),
        )
    categorical = [c for c in columns if c in ("gender", "occupation")]
    numeric = [c for c in columns if c not in categorical]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return make_pipeline(
        ColumnTransformer(
            [
                ("ids", "passthrough", ["user", "item"]),
                ("categories", encoder, categorical),
                ("numbers", "passthrough", numeric),
            ],
            sparse_threshold=0,
        ),
        MatrixFactorization(feature_factors=name == "feature_factors", random_state=0),
    )


def _ranking_spread(model, frame: pd.DataFrame, rng) -> dict[str, float]:
    """How the ranking of the cold items differs from one test user to another."""
    items = frame.drop_duplicates("item").drop(columns="user")
    users = frame["user"].unique()
    grid = items.loc[items.index.repeat(len(users))].assign(
        user=np.tile(users, len(items))
    )[frame.columns]
    scores = model.predict(grid).reshape(len(items), len(users)).T
    n_top = min(10, len(items))
    tops = {tuple(np.argsort(-row, kind="stable")[:n_top]) for row in scores}
    pairs = rng.randint(len(users), size=(200, 2))
    correlations = [
        spearmanr(scores[a], scores[b]).statistic for a, b in pairs if a != b
    ]
    return {
        "distinct_top10_share": len(tops) / len(users),
        "mean_spearman": float(np.nanmean(correlations)),
    }


def cold_start(frame: pd.DataFrame, y: pd.Series, group: str, columns: list[str]):
    rng = np.random.RandomState(0)
    squared = {name: [] for name in MODELS}
    spreads: dict[str, list] = {"linear": [], "feature_factors": []}
    data = frame[["user", "item", *columns]]
    for train, test in GroupKFold(5).split(data, y, data[group]):
        for name in MODELS:
            model = _model(name, columns).fit(data.iloc[train], y.iloc[train])
            errors = model.predict(data.iloc[test]) - y.iloc[test].to_numpy()
            squared[name].append(errors**2)
            if group == "item" and name in spreads:
                spreads[name].append(_ranking_spread(model, data.iloc[test], rng))
    result: dict[str, Any] = {
        "rmse": {
            name: float(np.sqrt(np.mean(np.concatenate(values))))
            for name, values in squared.items()
        }
    }
    if spreads["linear"]:
        result["ranking"] = {
            name: {key: float(np.mean([s[key] for s in values])) for key in values[0]}
            for name, values in spreads.items()
        }
    return result


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def fold_in(X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    rng = np.random.RandomState(0)
    users = np.unique(X[:, 0])
    held = rng.choice(users, size=len(users) // 10, replace=False)
    is_held = np.isin(X[:, 0], held)
    # N_FOLD_IN random ratings of each held-out user are folded in.
    shuffled = rng.permutation(np.flatnonzero(is_held))
    rank = pd.Series(X[shuffled, 0]).groupby(X[shuffled, 0]).cumcount().to_numpy()
    folded = np.zeros(len(y), dtype=bool)
    folded[shuffled[rank < N_FOLD_IN]] = True
    train, test = ~is_held, is_held & ~folded

    def rmse(model) -> float:
        return float(np.sqrt(np.mean((model.predict(X[test]) - y[test]) ** 2)))

    base = MatrixFactorization(random_state=0).fit(X[train], y[train])
    first = copy.deepcopy(base)
    first_s = _timed(lambda: first.partial_fit(X[folded], y[folded]))
    fold_s = []
    for _ in range(5):
        model = copy.deepcopy(base)
        fold_s.append(_timed(lambda m=model: m.partial_fit(X[folded], y[folded])))
    refit_rows = train | folded
    refit_s, refit = [], None
    for _ in range(2):
        refit = MatrixFactorization(random_state=0)
        refit_s.append(_timed(lambda m=refit: m.fit(X[refit_rows], y[refit_rows])))
    one_user = copy.deepcopy(base)
    latency = []
    for user in held[:100]:
        rows = folded & (X[:, 0] == user)
        latency.append(_timed(lambda r=rows: one_user.partial_fit(X[r], y[r])))
    return {
        "n_held_out_users": len(held),
        "n_folded_ratings": int(folded.sum()),
        "n_test_ratings": int(test.sum()),
        "fold_in_rmse": rmse(model),
        "refit_rmse": rmse(refit),
        "fold_in_s": float(np.median(fold_s)),
        "fold_in_first_call_s": first_s,
        "refit_s": min(refit_s),
        "one_user_s": float(np.median(latency)),
    }


def run_dataset(dataset: str) -> dict[str, Any]:
    bunch = fetch_movielens(dataset.removeprefix("ml-"), download_if_missing=False)
    genres = [genre for genre in GENRES if genre in bunch.movies.columns]
    frame = bunch.data.join(bunch.movies[genres].astype(float), on="item")
    frame = frame.join(bunch.users[["age", "gender", "occupation"]], on="user")
    frame[["gender", "occupation"]] = frame[["gender", "occupation"]].astype(str)
    y = bunch.target
    result = {
        "cold_items": cold_start(frame, y, "item", genres),
        "cold_users": cold_start(frame, y, "user", ["age", "gender", "occupation"]),
        "fold_in": fold_in(bunch.data.to_numpy(), y.to_numpy()),
    }
    print(f"  {dataset}: {result}", flush=True)
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Cold start and fold-in",
        "",
        header_line(report["environment"]),
        "",
        "RMSE on the unseen rows, `GroupKFold(5)` pooled:",
        "",
        "| data set | unseen | ids only (fallback) | features, linear | "
        "feature_factors=True | gain over fallback |",
        "|---|---|---:|---:|---:|---:|",
    ]
    checks = []
    for dataset, result in report["results"].items():
        for kind in ("cold_items", "cold_users"):
            rmse = result[kind]["rmse"]
            gain = rmse["fallback"] - rmse["feature_factors"]
            cells = " | ".join(f"{rmse[name]:.4f}" for name in MODELS)
            lines.append(f"| {dataset} | {kind[5:]} | {cells} | {gain:+.4f} |")
        if dataset == "ml-100k":
            items, users = result["cold_items"], result["cold_users"]
            gain = items["rmse"]["fallback"] - items["rmse"]["feature_factors"]
            spread = items["ranking"]["feature_factors"]
            checks.append(
                f"- Cold items: {gain:.4f} below the fallback (target >= 0.015): "
                + ("PASS" if gain >= 0.015 else "FAIL")
                + f"; distinct top-10 lists {spread['distinct_top10_share']:.0%} of "
                f"users, mean Spearman between users {spread['mean_spearman']:.3f} "
                "(rankings differ by user: "
                + ("PASS" if spread["distinct_top10_share"] > 0.5 else "FAIL")
                + ")."
            )
            gain = users["rmse"]["fallback"] - users["rmse"]["feature_factors"]
            checks.append(
                f"- Cold users: {gain:+.4f} against the fallback (target: never "
                "worse): " + ("PASS" if gain >= 0 else "FAIL") + "."
            )
    lines += [
        "",
        "Ranking of the cold items among users (mean over folds):",
        "",
        "| data set | model | distinct top-10 lists / users | mean Spearman |",
        "|---|---|---:|---:|",
    ]
    for dataset, result in report["results"].items():
        for name, spread in result["cold_items"]["ranking"].items():
            lines.append(
                f"| {dataset} | {name} | {spread['distinct_top10_share']:.1%} | "
                f"{spread['mean_spearman']:.3f} |"
            )
    lines += [
        "",
        f"Fold-in of {N_FOLD_IN} ratings per held-out user (10% of users):",
        "",
        "| data set | users | fold-in RMSE | refit RMSE | difference | fold-in s | "
        "first call s | refit s | speed-up | one user ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset, result in report["results"].items():
        f = result["fold_in"]
        difference = f["fold_in_rmse"] - f["refit_rmse"]
        speedup = f["refit_s"] / f["fold_in_s"]
        lines.append(
            f"| {dataset} | {f['n_held_out_users']} | {f['fold_in_rmse']:.4f} | "
            f"{f['refit_rmse']:.4f} | {difference:+.4f} | {f['fold_in_s']:.4f} | "
            f"{f['fold_in_first_call_s']:.4f} | {f['refit_s']:.2f} | {speedup:.0f}x | "
            f"{f['one_user_s'] * 1e3:.1f} |"
        )
        if dataset == "ml-1m":
            checks.append(
                f"- Fold-in on ML-1M: RMSE within {abs(difference):.4f} of the refit "
                "(target 0.02): "
                + ("PASS" if abs(difference) <= 0.02 else "FAIL")
                + f"; {speedup:.0f}x faster (target 100x): "
                + ("PASS" if speedup >= 100 else "FAIL")
                + "."
            )
    lines += ["", *checks, "", f"Total run time {report['total_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    run_per_dataset(
        __doc__.splitlines()[0],
        DATASETS,
        DEFAULT_OUT,
        PACKAGES,
        run_dataset,
        markdown,
        argv,
    )


if __name__ == "__main__":
    main()
