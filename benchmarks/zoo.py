"""Any rating data: the library's defaults on every data set of $SKLEARN_MF_DATA.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/zoo.py \
        [--datasets ml-100k,ciaodvd] [--models "bias-only,MF default"] \
        [--out benchmarks/results/zoo]

The six data sets of ``_zoo_data.LOADERS`` (MovieLens 100K, 1M and latest-small,
Jester, MovieTweetings, CiaoDVD: ratings on 1..5, 0.5..5, 0..10 and -10..10, from
one to hundreds of ratings per id) and ``ml-100k-1to100``, ML-100K rescaled to
1..100, which a scale-free model must score exactly as ML-100K once its RMSE is
divided by the spread of the ratings.

Protocol: ``KFold(5, shuffle=True, random_state=0)`` over the rows, except jester-1
(1.8 million ratings), which uses ``train_test_split(test_size=0.1,
random_state=0)`` over the row indices. RMSE and MAE are pooled over all test rows;
RMSE / std divides the RMSE by the (population) standard deviation of those test
ratings, so 1.0 is what predicting their own mean would score, on any scale.

Rows: the library's untuned defaults (biases only, ``MatrixFactorization()``,
``BayesianMatrixFactorization()``), ``MatrixFactorization`` tuned by a nested
``GridSearchCV`` on each outer fold's training rows, and two peers with their
defaults (Surprise ``SVD()``, myfm rank 10 with 200 samples), all through the
adapters of ``peers.py`` and timed by ``_common.run_split``.

A full run takes an hour or more, so every (data set, model) row is merged into an
existing ``<out>.json``, replacing only the rows it ran; ``<out>.md`` is rebuilt
from the merged JSON, and both are written after every row.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import peers
from _common import (
    RESULTS,
    Split,
    environment,
    header_line,
    make_splits,
    md_table,
    protocol_text,
    run_split,
    silence_expected_warnings,
    summarize,
    warm_up,
    write_report,
)
from _zoo_data import LOADERS, load
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization

DEFAULT_OUT = RESULTS / "zoo"
DATASETS = tuple(LOADERS)
# Too large for five folds of every model; one 90/10 split.
HOLDOUT_DATASETS = ("jester-1",)
PACKAGES = (
    "sklearn-mf",
    "scikit-surprise",
    "myfm",
    "numpy",
    "numba",
    "scikit-learn",
)

BIAS_ONLY = "bias-only"
MF_DEFAULT = "MF default"
MF_TUNED = "MF tuned"
BAYES_DEFAULT = "Bayesian default"
SURPRISE_SVD = "Surprise SVD()"
MYFM = "myfm"
# The library's own models that need no tuning: the checks compare these.
UNTUNED = (BIAS_ONLY, MF_DEFAULT, BAYES_DEFAULT)
MYFM_SAMPLES = 200

# Searched on each outer fold's training rows only; the winner is refitted there.
TUNE_GRID: dict[str, list[Any]] = {
    "n_components": [16, 64, 128],
    "alpha": [0.03, 0.05, 0.08, 0.13, 0.2],
}
# Shuffled: five of the six files list their ratings user by user, and an outer
# fold's training rows keep that order, so plain cv=3 (unshuffled) would hold whole
# users out of every inner fold and tune for users it has never seen.
TUNE_CV = KFold(3, shuffle=True, random_state=0)


# ------------------------------------------------------------------------ models


@dataclass(frozen=True)
class Row:
    """One model of the table: what it runs, and how to build its adapter."""

    name: str
    settings: str
    build: Callable[[], peers.Adapter]


def ours(
    name: str, params: dict[str, Any], estimator: type = MatrixFactorization
) -> Row:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return Row(
        name,
        f"{estimator.__name__}({text})",
        lambda: peers.Adapter(peers.ours_model(name, params, estimator)),
    )


def grid_search(**params: Any) -> GridSearchCV:
    return GridSearchCV(
        MatrixFactorization(**params),
        TUNE_GRID,
        cv=TUNE_CV,
        scoring="neg_root_mean_squared_error",
    )


def tuned_adapter() -> peers.Adapter:
    """The nested search: each fit searches the grid on that fold's training rows.

    The chosen parameters of every fit land in ``extra["folds"]``.
    """
    folds: list[dict[str, Any]] = []
    model = peers.ours_model(MF_TUNED, {"n_jobs": -1, "random_state": 0}, grid_search)

    def fit(data: Any) -> GridSearchCV:
        grid = model.fit(data)
        folds.append(
            {"best_params": grid.best_params_, "cv_rmse": float(-grid.best_score_)}
        )
        return grid

    return peers.Adapter(replace(model, fit=fit), extra={"folds": folds})


ROWS = (
    ours(BIAS_ONLY, {"n_components": 0, "random_state": 0}),
    ours(MF_DEFAULT, {"random_state": 0}),
    Row(
        MF_TUNED,
        "GridSearchCV(MatrixFactorization(n_jobs=-1, random_state=0), TUNE_GRID, "
        "cv=KFold(3, shuffle=True, random_state=0), "
        "scoring='neg_root_mean_squared_error') on each outer fold's training rows; "
        "TUNE_GRID = " + ", ".join(f"{k} in {v}" for k, v in TUNE_GRID.items()),
        tuned_adapter,
    ),
    ours(BAYES_DEFAULT, {"random_state": 0}, BayesianMatrixFactorization),
    Row(
        SURPRISE_SVD,
        "surprise.SVD(random_state=0): its defaults (100 factors, 20 epochs, "
        "lr 0.005, reg 0.02), rating scale the training range",
        lambda: peers.surprise(SURPRISE_SVD, "SVD"),
    ),
    Row(
        MYFM,
        f"myfm.MyFMRegressor(rank=10, random_seed=0), user and item one-hot groups, "
        f"n_iter = n_kept_samples = {MYFM_SAMPLES}",
        lambda: peers.myfm_bayesian(MYFM, MYFM_SAMPLES, implicit=False),
    ),
)
MODELS = tuple(row.name for row in ROWS)


# -------------------------------------------------------------------------- data


def load_rows(dataset: str, max_ratings: int | None) -> tuple[pd.DataFrame, pd.Series]:
    """The data set, or (smoke tests) ``max_ratings`` of its rows drawn at random."""
    X, y = load(dataset)
    if max_ratings is None or max_ratings >= len(y):
        return X, y
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(y), max_ratings, replace=False))
    return X.iloc[keep].reset_index(drop=True), y.iloc[keep].reset_index(drop=True)


def splits_of(dataset: str, n_samples: int) -> list[Split]:
    return make_splits(n_samples, kfold=dataset not in HOLDOUT_DATASETS)


def test_ratings(y: pd.Series, splits: list[Split]) -> np.ndarray:
    """The ratings of every split's test rows, in the order summarize pools them."""
    return y.to_numpy()[np.concatenate([test for _, test in splits])]


def describe(
    X: pd.DataFrame, y: pd.Series, splits: list[Split], max_ratings: int | None
) -> dict[str, Any]:
    """Size and scale of the data set, and how it is split."""
    n_users, n_items = X.iloc[:, 0].nunique(), X.iloc[:, 1].nunique()
    return {
        "n_ratings": int(len(y)),
        "n_users": int(n_users),
        "n_items": int(n_items),
        "density": len(y) / (n_users * n_items),
        "rating_min": float(y.min()),
        "rating_max": float(y.max()),
        "mean": float(y.mean()),
        "std": float(y.std(ddof=0)),
        "test_std": float(test_ratings(y, splits).std()),
        "protocol": protocol_text(kfold=len(splits) > 1),
        "n_splits": len(splits),
        "max_ratings": max_ratings,
    }


def same_data(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether rows stored for ``old`` were measured on the data of ``new``."""
    keys = ("n_ratings", "n_users", "n_items", "protocol", "max_ratings")
    return old is not None and all(old.get(k) == new[k] for k in keys)


# ----------------------------------------------------------------------- running


def run_model(
    row: Row, X: pd.DataFrame, y: pd.Series, splits: list[Split], warmed: set[str]
) -> dict[str, Any]:
    """Every split of one data set for one model; its pooled summary."""
    adapter = row.build()
    if row.name not in warmed:
        # Once per process and model, untimed: numba compilation (or cache load),
        # the peers' lazy imports.
        warm_up([adapter.model], X, y)
        warmed.add(row.name)
    for value in adapter.extra.values():
        value.clear()
    runs = [
        [run_split(adapter.model, X.iloc[train], y.iloc[train], X.iloc[test])]
        for train, test in splits
    ]
    adapter.close()
    summary = summarize(runs, y, splits)
    summary.pop("repeats_identical")  # one run per split
    summary["rmse_over_std"] = summary["rmse"] / test_ratings(y, splits).std()
    summary["fit_s_mean"] = summary["fit_s"] / len(splits)
    summary["extra"] = adapter.extra
    print(
        f"  RMSE {summary['rmse']:.4f} ({summary['rmse_over_std']:.4f} of the std), "
        f"fit {summary['fit_s_mean']:.2f} s per split",
        flush=True,
    )
    return summary


def run_row(
    row: Row, X: pd.DataFrame, y: pd.Series, splits: list[Split], warmed: set[str]
) -> dict[str, Any]:
    """run_model, or the reason it failed: one failure does not end a long run."""
    try:
        return run_model(row, X, y, splits, warmed)
    except Exception as exc:  # any failure is reported in the table instead
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------ checks


def checks(results: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Per data set: MF default no worse than biases only, and the Bayesian default
    the most accurate of the untuned models."""
    found = []
    for dataset, models in results.items():
        rmse = {name: models[name].get("rmse") for name in UNTUNED if name in models}
        found.append(
            check(
                dataset,
                rmse,
                MF_DEFAULT,
                [BIAS_ONLY],
                f"{MF_DEFAULT} RMSE <= {BIAS_ONLY} RMSE",
            )
        )
        found.append(
            check(
                dataset,
                rmse,
                BAYES_DEFAULT,
                [BIAS_ONLY, MF_DEFAULT],
                f"{BAYES_DEFAULT} has the lowest RMSE of the untuned defaults",
            )
        )
    return found


def check(
    dataset: str,
    rmse: dict[str, float | None],
    model: str,
    others: list[str],
    label: str,
) -> dict[str, str]:
    values = [rmse.get(name) for name in (model, *others)]
    if any(value is None for value in values):
        status, detail = "SKIP", "not all of " + ", ".join((model, *others)) + " ran"
    else:
        ok = values[0] <= min(values[1:])
        status = "PASS" if ok else "FAIL"
        detail = ", ".join(
            f"{name} {value:.4f}"
            for name, value in zip((model, *others), values, strict=True)
        )
    return {
        "dataset": dataset,
        "check": label,
        "status": status,
        "text": f"{dataset}: {label} ({detail})",
    }


# ----------------------------------------------------------------------- reports


def rating_range(info: dict[str, Any]) -> str:
    return f"{info['rating_min']:g}..{info['rating_max']:g}"


def dataset_cells(name: str, d: dict[str, Any]) -> list[str]:
    sample = f" (random {d['max_ratings']:,} rows)" if d["max_ratings"] else ""
    return [
        name + sample,
        f"{d['n_ratings']:,}",
        f"{d['n_users']:,}",
        f"{d['n_items']:,}",
        f"{d['density']:.3%}",
        f"{d['rating_min']:g}..{d['rating_max']:g}",
        f"{d['mean']:.3f}",
        f"{d['std']:.3f}",
        d["protocol"].split(";")[0],
    ]


def model_cells(name: str, m: dict[str, Any]) -> list[str]:
    if "error" in m:
        return [name, f"not run: {m['error']}", *[""] * 5, str(m["run"])]
    return [
        name,
        f"{m['rmse']:.4f}",
        f"{m['rmse_over_std']:.4f}",
        f"{m['mae']:.4f}",
        f"{m['fit_s_mean']:.2f}",
        f"{m['fit_s']:.2f}",
        f"{m['predict_s']:.2f}",
        str(m["run"]),
    ]


DATASET_HEADER = (
    "data set",
    "ratings",
    "users",
    "items",
    "density",
    "range",
    "mean",
    "std",
    "protocol",
)
MODEL_HEADER = (
    "model",
    "RMSE",
    "RMSE / std",
    "MAE",
    "fit s / fold",
    "fit s total",
    "predict s total",
    "run",
)


def tuning_lines(models: dict[str, dict[str, Any]]) -> list[str]:
    folds = models.get(MF_TUNED, {}).get("extra", {}).get("folds", [])
    return [
        f"- {MF_TUNED}, fold {i}: "
        + ", ".join(f"{k}={v}" for k, v in fold["best_params"].items())
        + f" (inner CV RMSE {fold['cv_rmse']:.4f})"
        for i, fold in enumerate(folds)
    ]


def markdown(report: dict[str, Any]) -> str:
    # Runs whose rows were all replaced since stay in the JSON only.
    cited = {m["run"] for models in report["results"].values() for m in models.values()}
    runs = [
        f"- run {i}: {header_line(run['environment'])}; data sets "
        f"{', '.join(run['datasets'])}; models {', '.join(run['models'])}; "
        f"{run['total_s']:.0f} s; load average (1 min) "
        + " -> ".join(f"{x:.2f}" for x in run["load_average"])
        for i, run in enumerate(report["runs"])
        if i in cited
    ]
    lines = [
        "# Any rating data: the defaults on every data set",
        "",
        "Merged from these runs (each row names its run; a run is numbered by its "
        "place in the JSON's `runs`):",
        "",
        *runs,
        "",
        *md_table(
            DATASET_HEADER,
            [dataset_cells(name, d) for name, d in report["datasets"].items()],
            text=("range", "protocol"),
        ),
        "",
        "RMSE and MAE are pooled over all test rows; RMSE / std divides the RMSE by "
        "the standard deviation of those test ratings (1.0 = predicting their mean). "
        "Seconds are the fit and predict calls only; Surprise's trainset and myfm's "
        "relation blocks are `prepare_s` in the JSON. Every model was fitted once on "
        "2,000 rows, untimed, before its first timed fit in a process.",
    ]
    for dataset, models in report["results"].items():
        table = md_table(MODEL_HEADER, [model_cells(n, m) for n, m in models.items()])
        lines += ["", f"## {dataset}", "", *table]
        tuning = tuning_lines(models)
        lines += ["", *tuning] if tuning else []
    lines += [
        "",
        "## Checks",
        "",
        *(f"- {c['status']}: {c['text']}" for c in report["checks"]),
        "",
        "## Settings",
        "",
        *(f"- **{s['model']}**: {s['settings']}" for s in report["settings"]),
        "",
        "Ours run with n_jobs=None (one thread), as Surprise and myfm do; the grid "
        "search of MF tuned with n_jobs=-1, as benchmarks/tune.py.",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ merged report


def read_report(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"runs": [], "datasets": {}, "results": {}}


def ordered(report: dict[str, Any]) -> dict[str, Any]:
    """Data sets and models in the order of DATASETS and MODELS, whatever ran first."""

    def by(order: Sequence[str], mapping: dict[str, Any]) -> dict[str, Any]:
        # Names no longer known (an older version of this script) go last.
        rank = {name: i for i, name in enumerate(order)}
        return dict(sorted(mapping.items(), key=lambda kv: rank.get(kv[0], len(rank))))

    results = {
        dataset: by(MODELS, models)
        for dataset, models in by(DATASETS, report["results"]).items()
    }
    # What each model ran, once per distinct setting (TUNE_GRID may change).
    settings = dict.fromkeys(
        (name, m["settings"])
        for models in results.values()
        for name, m in models.items()
    )
    return {
        **report,
        "datasets": by(DATASETS, report["datasets"]),
        "results": results,
        "settings": [
            {"model": name, "settings": text}
            for name, text in sorted(settings, key=lambda pair: MODELS.index(pair[0]))
        ],
        "checks": checks(results),
    }


def save(report: dict[str, Any], out: Path) -> dict[str, Any]:
    report = ordered(report)
    write_report(out, report, markdown(report))
    return report


# -------------------------------------------------------------------------- main


def names(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {unknown}; choose from {', '.join(choices)}"
            )
        return chosen

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=names(DATASETS),
        default=list(DATASETS),
        help="comma list of " + ", ".join(DATASETS) + " (default: all)",
    )
    parser.add_argument(
        "--models",
        type=names(MODELS),
        default=list(MODELS),
        help="comma list of " + ", ".join(MODELS) + " (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output path without suffix; merges into <out>.json, rewrites <out>.md",
    )
    # Smoke tests only: a random subset of each data set's rows. Its rows replace
    # (and are replaced by) rows of the full data set in the merged report.
    parser.add_argument("--max-ratings", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    silence_expected_warnings()
    # myfm prints a progress bar per Gibbs sample; tqdm reads this when imported.
    os.environ.setdefault("TQDM_DISABLE", "1")
    start = time.perf_counter()
    report = read_report(args.out.with_name(args.out.name + ".json"))
    run = {
        # Taken first: the repository may move on during a long run.
        "environment": environment(PACKAGES),
        "datasets": args.datasets,
        "models": args.models,
        "max_ratings": args.max_ratings,
        "load_average": [os.getloadavg()[0]] * 2,
        "total_s": 0.0,
    }
    run_no = len(report["runs"])
    report["runs"].append(run)
    rows = [row for row in ROWS if row.name in args.models]
    warmed: set[str] = set()
    for dataset in args.datasets:
        X, y = load_rows(dataset, args.max_ratings)
        splits = splits_of(dataset, len(y))
        info = describe(X, y, splits, args.max_ratings)
        print(f"{dataset}: {info['n_ratings']:,} ratings, {info['protocol']}")
        if not same_data(report["datasets"].get(dataset), info):
            # Rows measured on other data (another --max-ratings) no longer apply.
            report["results"].pop(dataset, None)
        report["datasets"][dataset] = info
        for row in rows:
            print(f"{dataset} / {row.name} ...", flush=True)
            result = {
                "run": run_no,
                "settings": row.settings,
                **run_row(row, X, y, splits, warmed),
            }
            report["results"].setdefault(dataset, {})[row.name] = result
            run["total_s"] = time.perf_counter() - start
            run["load_average"][1] = os.getloadavg()[0]
            report = save(report, args.out)
    print()
    print(markdown(ordered(report)))


if __name__ == "__main__":
    main()
