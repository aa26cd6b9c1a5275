"""BayesianMatrixFactorization: its defaults against other settings, and calibration.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/bayes.py \
        [--datasets ml-100k ml-1m] [--out benchmarks/results/bayes]

Each setting is fitted on the usual splits (ML-100K 5-fold, every other data set of
``_zoo_data`` 90/10) and scored on the test rows: RMSE, and the share of test ratings
inside the central 90% predictive interval ``mean +- 1.645 std`` from
``predict(X, return_std=True)``.

The question is whether the defaults need tuning. The best setting of the grid is
picked on the test rows themselves, which flatters it: no honest tuning could do
better. The defaults pass when their RMSE is within 0.005 of that best.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from _common import (
    RESULTS,
    header_line,
    run_per_dataset,
    splits_for,
)
from _zoo_data import load

from sklearn_mf import BayesianMatrixFactorization

PACKAGES = ("sklearn-mf", "numpy", "numba", "scikit-learn")
DATASETS = (
    "ml-100k",
    "ml-1m",
    "ml-latest-small",
    "jester-1",
    "movietweetings-100k",
    "ciaodvd",
)
DEFAULT_OUT = RESULTS / "bayes"
RMSE_TARGETS = {"ml-100k": 0.875, "ml-1m": 0.825}
COVERAGE_RANGE = (0.87, 0.93)
Z_90 = 1.645  # the central 90% interval of a normal distribution

# The defaults first; then the rank halved and doubled, a longer chain, and no
# implicit feedback.
SETTINGS: list[dict[str, Any]] = [
    {},
    {"n_components": 16},
    {"n_components": 64},
    {"n_iter": 400, "burn_in": 100},
    {"implicit_feedback": False},
]


def run_setting(dataset: str, params: dict[str, Any]) -> dict[str, Any]:
    X, y = load(dataset)
    squared, covered, fit_s = [], [], 0.0
    for train, test in splits_for(dataset, len(y)):
        model = BayesianMatrixFactorization(random_state=0, **params)
        start = time.perf_counter()
        model.fit(X.iloc[train], y.iloc[train])
        fit_s += time.perf_counter() - start
        mean, std = model.predict(X.iloc[test], return_std=True)
        error = y.iloc[test].to_numpy() - mean
        squared.append(error**2)
        covered.append(np.abs(error) <= Z_90 * std)
    result = {
        "params": params,
        "rmse": float(np.sqrt(np.concatenate(squared).mean())),
        "coverage_90": float(np.concatenate(covered).mean()),
        "fit_s": fit_s,
    }
    print(f"  {dataset} {params or 'defaults'}: {result}", flush=True)
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# BayesianMatrixFactorization: defaults, other settings, calibration",
        "",
        header_line(report["environment"]),
        "",
        "| data set | setting | RMSE | in 90% interval | fit s |",
        "|---|---|---:|---:|---:|",
    ]
    checks = []
    for dataset, rows in report["results"].items():
        for row in rows:
            setting = ", ".join(f"{k}={v!r}" for k, v in row["params"].items())
            lines.append(
                f"| {dataset} | {setting or 'defaults'} | {row['rmse']:.4f} "
                f"| {row['coverage_90']:.1%} | {row['fit_s']:.1f} |"
            )
        default, best = rows[0], min(rows, key=lambda row: row["rmse"])
        gap = default["rmse"] - best["rmse"]
        low, high = COVERAGE_RANGE
        if dataset in RMSE_TARGETS:
            target = RMSE_TARGETS[dataset]
            checks.append(
                f"- {dataset}: defaults RMSE {default['rmse']:.4f}, target <= "
                f"{target}: " + ("PASS" if default["rmse"] <= target else "FAIL")
            )
        checks += [
            f"- {dataset}: defaults within {gap:.4f} of the best setting "
            f"({best['rmse']:.4f}), target 0.005: "
            + ("PASS" if gap <= 0.005 else "FAIL"),
            f"- {dataset}: {default['coverage_90']:.1%} of test ratings in the "
            f"defaults' 90% interval (target {low:.0%} to {high:.0%} on ML-1M): "
            + ("PASS" if low <= default["coverage_90"] <= high else "outside"),
        ]
    lines += [
        "",
        *checks,
        "",
        "ML-100K pools the 5 folds' test rows (fit s summed over folds); the other "
        "data sets use the 90/10 split. The best setting is picked on the test rows, "
        "an upper bound on what tuning could reach. All fits on one thread.",
        "",
        f"Total run time {report['total_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    run_per_dataset(
        __doc__.splitlines()[0],
        DATASETS,
        DEFAULT_OUT,
        PACKAGES,
        lambda dataset: [run_setting(dataset, params) for params in SETTINGS],
        markdown,
        argv,
    )


if __name__ == "__main__":
    main()
