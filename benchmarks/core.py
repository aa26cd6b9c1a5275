"""Core benchmark: MatrixFactorization against Surprise on MovieLens 100K and 1M.

Accuracy (RMSE, MAE) and fit/predict seconds on fixed splits shared by every model;
speed is reported as ratios measured within one run, because the benchmark machine
is shared and absolute seconds drift. See benchmarks/README.md for the protocols.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/core.py \
        [--datasets ml-100k ml-1m] [--out benchmarks/results/core]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, train_test_split
from threadpoolctl import threadpool_info

from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import fetch_movielens

try:
    from surprise import SVD, BaselineOnly, Dataset, Reader
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise SystemExit(
        'Surprise is missing: install the peers with  pip install -e ".[bench]"'
    ) from exc

# Our default (tol=1e-3, max_iter=20) may stop at max_iter on some splits; the
# warning is expected here and would only clutter the output. Matched by message
# because _fit_context makes the warning's module sklearn.base, not sklearn_mf.
warnings.filterwarnings(
    "ignore", message="MatrixFactorization stopped", category=ConvergenceWarning
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "core"
DATASETS = ("ml-100k", "ml-1m")
WARMUP_ROWS = 2_000

OURS_DEFAULT = "ours default"
OURS_SGD = "ours sgd @ Surprise settings"
SVD_NAME = "surprise SVD()"
BASELINE_NAME = "surprise BaselineOnly()"

OUR_PARAMS: dict[str, dict[str, Any]] = {
    OURS_DEFAULT: {"random_state": 0},
    # Surprise SVD's defaults in our names: n_factors=100, n_epochs=20, lr_all=0.005,
    # reg_all=0.02 (on factors and biases), init_std_dev=0.1; tol=None runs all
    # 20 epochs as Surprise does.
    OURS_SGD: {
        "solver": "sgd",
        "n_components": 100,
        "max_iter": 20,
        "tol": None,
        "learning_rate": 0.005,
        "alpha": 0.02,
        "alpha_bias": 0.02,
        "init_std": 0.1,
        "random_state": 0,
    },
}

# Run order within one split. Interleaving the libraries makes drift on the noisy
# machine hit both alike; on ML-1M, Surprise SVD runs twice (its fit time is the mean)
# so that it brackets our SGD run.
SCHEDULES: dict[str, tuple[str, ...]] = {
    "ml-100k": (OURS_DEFAULT, SVD_NAME, OURS_SGD, BASELINE_NAME),
    "ml-1m": (OURS_DEFAULT, SVD_NAME, OURS_SGD, SVD_NAME, BASELINE_NAME),
}
PROTOCOLS = {
    "ml-100k": "KFold(5, shuffle=True, random_state=0) over rows; metrics pooled over "
    "all test rows, seconds summed over folds",
    "ml-1m": "train_test_split(test_size=0.1, random_state=0) over row indices",
}

Split = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Model:
    """How to run one model: the benchmark times each callable separately."""

    name: str
    # Library-specific conversion of the training rows; timed as prepare_s, not fit.
    prepare: Callable[[pd.DataFrame, pd.Series], Any]
    fit: Callable[[Any], Any]
    predict: Callable[[Any, pd.DataFrame], np.ndarray]


def ours(name: str) -> Model:
    params = OUR_PARAMS[name]
    return Model(
        name=name,
        # Nothing to prepare: our fit takes the DataFrame as a user would pass it,
        # so its validation and id encoding count as fit time.
        prepare=lambda X, y: (X, y),
        fit=lambda data: MatrixFactorization(**params).fit(*data),
        predict=lambda model, X: model.predict(X),
    )


def surprise_model(name: str, make_algo: Callable[[], Any]) -> Model:
    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        frame = pd.DataFrame(
            {"user": X.iloc[:, 0], "item": X.iloc[:, 1], "rating": y.to_numpy()}
        )
        reader = Reader(rating_scale=(float(y.min()), float(y.max())))
        return Dataset.load_from_df(frame, reader).build_full_trainset()

    def fit(trainset: Any) -> Any:
        algo = make_algo()
        algo.fit(trainset)
        return algo

    def predict(algo: Any, X: pd.DataFrame) -> np.ndarray:
        # Surprise wants (user, item, true rating) triples; the true rating is only
        # echoed back in the Prediction, so a placeholder keeps the API y-free.
        users, items = X.iloc[:, 0].tolist(), X.iloc[:, 1].tolist()
        predictions = algo.test(
            [(u, i, 0.0) for u, i in zip(users, items, strict=True)]
        )
        return np.fromiter((p.est for p in predictions), float, len(predictions))

    return Model(name=name, prepare=prepare, fit=fit, predict=predict)


def all_models() -> dict[str, Model]:
    models = [
        ours(OURS_DEFAULT),
        ours(OURS_SGD),
        surprise_model(SVD_NAME, lambda: SVD(random_state=0)),
        # verbose=False only silences its "Estimating biases" print.
        surprise_model(BASELINE_NAME, lambda: BaselineOnly(verbose=False)),
    ]
    return {model.name: model for model in models}


# ----------------------------------------------------------------------- running


@dataclass
class Run:
    """One model on one split."""

    prediction: np.ndarray
    prepare_s: float
    fit_s: float
    predict_s: float
    # CPU seconds of the whole process during fit, all threads: above fit_s when
    # threads (numba's, or BLAS workers spinning while idle) take a second core,
    # which a busy machine then takes away.
    fit_cpu_s: float


def run_split(
    model: Model, X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame
) -> Run:
    start = time.perf_counter()
    data = model.prepare(X_train, y_train)
    prepared, cpu_start = time.perf_counter(), time.process_time()
    fitted = model.fit(data)
    fitted_at, cpu_end = time.perf_counter(), time.process_time()
    prediction = model.predict(fitted, X_test)
    done = time.perf_counter()
    return Run(
        prediction,
        prepare_s=prepared - start,
        fit_s=fitted_at - prepared,
        predict_s=done - fitted_at,
        fit_cpu_s=cpu_end - cpu_start,
    )


def warm_up(models: dict[str, Model], X: pd.DataFrame, y: pd.Series) -> None:
    """Fit and predict every model once on a small slice before anything is timed.

    numba compiles (or loads from its cache) our kernels on the first call in a
    process; that one-off cost is measured separately by first_fit_latency. Surprise
    gets the same treatment, though it has no JIT, so the rule needs no exceptions.
    """
    X_small, y_small = X.iloc[:WARMUP_ROWS], y.iloc[:WARMUP_ROWS]
    for model in models.values():
        run_split(model, X_small, y_small, X_small)


def splits_for(dataset: str, n_samples: int) -> list[Split]:
    if dataset == "ml-100k":
        kfold = KFold(5, shuffle=True, random_state=0)
        return list(kfold.split(np.arange(n_samples)))
    train, test = train_test_split(np.arange(n_samples), test_size=0.1, random_state=0)
    return [(train, test)]


def run_protocol(
    schedule: Sequence[str],
    models: dict[str, Model],
    X: pd.DataFrame,
    y: pd.Series,
    splits: Sequence[Split],
) -> dict[str, list[list[Run]]]:
    """Run ``schedule`` on every split; runs[name][split] lists that model's repeats."""
    runs: dict[str, list[list[Run]]] = {name: [] for name in schedule}
    for split_no, (train, test) in enumerate(splits):
        # Sliced once per split, outside the timers, and shared by every model.
        X_train, y_train, X_test = X.iloc[train], y.iloc[train], X.iloc[test]
        for repeats in runs.values():
            repeats.append([])
        for name in schedule:
            run = run_split(models[name], X_train, y_train, X_test)
            runs[name][split_no].append(run)
            print(
                f"  split {split_no}: {name:<30} fit {run.fit_s:7.2f} s  "
                f"predict {run.predict_s:6.2f} s",
                flush=True,
            )
    return runs


def summarize(
    runs: list[list[Run]], y: pd.Series, splits: Sequence[Split]
) -> dict[str, Any]:
    """Pooled metrics over all test rows; seconds summed over splits.

    A model run more than once on a split counts with the mean of its repeats, and
    its first repeat's predictions (repeats share random_state, and identical is
    checked).
    """
    y_true = np.concatenate([y.to_numpy()[test] for _, test in splits])
    y_pred = np.concatenate([repeats[0].prediction for repeats in runs])
    errors = y_pred - y_true
    per_split = {
        key: [[getattr(run, key) for run in repeats] for repeats in runs]
        for key in ("prepare_s", "fit_s", "predict_s", "fit_cpu_s")
    }
    summary: dict[str, Any] = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "n_predictions": int(len(y_true)),
    }
    for key, values in per_split.items():
        summary[key] = float(sum(np.mean(repeats) for repeats in values))
        summary[f"{key}_runs"] = values
    summary["repeats_identical"] = all(
        np.array_equal(repeats[0].prediction, run.prediction)
        for repeats in runs
        for run in repeats
    )
    return summary


def run_dataset(dataset: str, models: dict[str, Model]) -> dict[str, Any]:
    X, y = fetch_movielens(dataset, download_if_missing=False, return_X_y=True)
    splits = splits_for(dataset, len(y))
    print(f"{dataset}: {len(y):,} ratings, {len(splits)} split(s)", flush=True)
    runs = run_protocol(SCHEDULES[dataset], models, X, y, splits)
    return {
        "protocol": PROTOCOLS[dataset],
        "n_ratings": int(len(y)),
        "run_order": list(SCHEDULES[dataset]),
        "models": {name: summarize(r, y, splits) for name, r in runs.items()},
    }


# ------------------------------------------------------------- first-fit latency

# Run with `python -c` in a fresh interpreter so nothing is imported or compiled yet.
FIRST_FIT_CODE = """\
import json, sys, time, warnings
start = time.perf_counter()
from sklearn.exceptions import ConvergenceWarning
from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import fetch_movielens
warnings.filterwarnings(
    "ignore", message="MatrixFactorization stopped", category=ConvergenceWarning
)
imported = time.perf_counter()
X, y = fetch_movielens("ml-100k", download_if_missing=False, return_X_y=True)
X, y = X.iloc[:{rows}], y.iloc[:{rows}]
loaded = time.perf_counter()
MatrixFactorization(**json.loads(sys.argv[1])).fit(X, y)
done = time.perf_counter()
print(json.dumps({{"import_s": imported - start, "load_s": loaded - imported,
                  "fit_s": done - loaded}}))
"""


def first_fit(params: dict[str, Any], cache_dir: str) -> dict[str, float]:
    """Wall time of a fresh `python -c`: start-up, imports, loading, one small fit."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    code = FIRST_FIT_CODE.format(rows=WARMUP_ROWS)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall_s = time.perf_counter() - start
    return {"wall_s": wall_s, **json.loads(result.stdout.strip().splitlines()[-1])}


def first_fit_latency() -> list[dict[str, Any]]:
    """First fit in a new process, with an empty numba cache and with a filled one.

    A private NUMBA_CACHE_DIR makes "cold" mean a real compile (as after installing)
    whatever the package's __pycache__ holds; the second run in the same folder is
    every later process (kernels loaded from the cache).
    """
    rows = []
    for name, params in OUR_PARAMS.items():
        with tempfile.TemporaryDirectory(prefix="sklearn_mf_numba_") as cache_dir:
            for cache in ("cold", "warm"):
                timing = first_fit(params, cache_dir)
                rows.append({"model": name, "numba_cache": cache, **timing})
                print(f"  first fit {name}, {cache} cache: {timing['wall_s']:.2f} s")
    return rows


# ------------------------------------------------------------------------ checks


@dataclass
class Check:
    label: str
    value: float | None
    op: str  # "<=" or ">="
    limit: float | None
    limit_label: str = ""

    @property
    def status(self) -> str:
        if self.value is None or self.limit is None:
            return "SKIP"
        ok = self.value <= self.limit if self.op == "<=" else self.value >= self.limit
        return "PASS" if ok else "FAIL"

    def line(self) -> str:
        if self.status == "SKIP":
            return f"- SKIP: {self.label} (dataset not run)"
        limit = f"{self.limit:.4g}" + (
            f" ({self.limit_label})" if self.limit_label else ""
        )
        return f"- {self.status}: {self.label} = {self.value:.4g} {self.op} {limit}"


def metric(results: dict[str, Any], dataset: str, model: str, key: str) -> float | None:
    try:
        return results[dataset]["models"][model][key]
    except KeyError:
        return None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else abs(a - b)


def checks(results: dict[str, Any]) -> list[Check]:
    def get(dataset: str, model: str, key: str) -> float | None:
        return metric(results, dataset, model, key)

    svd_fit_1m = get("ml-1m", SVD_NAME, "fit_s")
    return [
        Check(
            "ours default ML-100K 5-fold RMSE",
            get("ml-100k", OURS_DEFAULT, "rmse"),
            "<=",
            0.915,
        ),
        Check(
            "ours default ML-1M RMSE", get("ml-1m", OURS_DEFAULT, "rmse"), "<=", 0.855
        ),
        Check(
            "ours default ML-1M fit s",
            get("ml-1m", OURS_DEFAULT, "fit_s"),
            "<=",
            svd_fit_1m,
            "Surprise SVD() ML-1M fit s",
        ),
        Check(
            "|ours sgd@Surprise ML-1M RMSE - Surprise SVD() ML-1M RMSE|",
            difference(get("ml-1m", OURS_SGD, "rmse"), get("ml-1m", SVD_NAME, "rmse")),
            "<=",
            0.005,
        ),
        Check(
            "Surprise SVD() ML-1M fit s / ours sgd@Surprise ML-1M fit s",
            ratio(svd_fit_1m, get("ml-1m", OURS_SGD, "fit_s")),
            ">=",
            5.0,
        ),
    ]


# ----------------------------------------------------------------------- reports


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        # GIT_OPTIONAL_LOCKS=0: never take the index lock others may be using.
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
        out = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, env=env
        )
        return out.stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(changed)}


def environment() -> dict[str, Any]:
    packages = ("sklearn-mf", "scikit-surprise", "numpy", "numba", "scikit-learn")
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "versions": {name: version(name) for name in packages},
        # Thread pools a fit may use: they decide how much a busy machine slows it.
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "blas": [
            {k: pool[k] for k in ("internal_api", "version", "num_threads")}
            for pool in threadpool_info()
        ],
        "git": git_state(),
    }


def speed_ratio(results: dict[str, Any], dataset: str, model: str) -> str:
    if model.startswith("surprise"):
        return ""
    value = ratio(
        metric(results, dataset, SVD_NAME, "fit_s"),
        metric(results, dataset, model, "fit_s"),
    )
    return "" if value is None else f"{value:.1f}x"


def results_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| dataset | model | RMSE | MAE | fit s | predict s | SVD fit s / fit s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for dataset, result in results.items():
        for model, m in result["models"].items():
            lines.append(
                f"| {dataset} | {model} | {m['rmse']:.4f} | {m['mae']:.4f} "
                f"| {m['fit_s']:.2f} | {m['predict_s']:.2f} "
                f"| {speed_ratio(results, dataset, model)} |"
            )
    return lines


def first_fit_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | numba cache | wall s | import s | load s | fit s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['numba_cache']} | {r['wall_s']:.2f} "
            f"| {r['import_s']:.2f} | {r['load_s']:.2f} | {r['fit_s']:.2f} |"
        )
    return lines


def cpu_notes(results: dict[str, Any]) -> list[str]:
    """CPU per wall second of each fit: above 1, a second core was used."""
    lines = []
    for dataset, result in results.items():
        usage = ", ".join(
            f"{model} {m['fit_cpu_s'] / m['fit_s']:.2f}"
            for model, m in result["models"].items()
        )
        lines.append(f"- {dataset} fit CPU s / fit s (all threads): {usage}")
    return lines


def repeat_notes(results: dict[str, Any]) -> list[str]:
    """Name the raw fit times behind every mean of repeated runs."""
    lines = []
    for dataset, result in results.items():
        for model, m in result["models"].items():
            for repeats in m["fit_s_runs"]:
                if len(repeats) > 1:
                    raw = " and ".join(f"{s:.2f} s" for s in repeats)
                    lines.append(f"- {dataset} {model} fit s is the mean of {raw}")
    return lines


def markdown(report: dict[str, Any], check_list: list[Check]) -> str:
    env, results = report["environment"], report["results"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    notes = [
        f"- {dataset}: {result['protocol']}; run order per split: "
        f"{', '.join(result['run_order'])}"
        for dataset, result in results.items()
    ]
    lines = [
        "# Core benchmark: sklearn_mf vs Surprise",
        "",
        f"{env['date']} · {env['platform']} · {env['cpu_count']} CPUs · "
        f"Python {env['python']} · {versions} · commit {env['git']['commit'][:10]}"
        + (" (dirty tree)" if env["git"]["dirty"] else ""),
        "",
        *results_table(results),
        "",
        "Fit s excludes building Surprise's trainset (`prepare_s` in the JSON). "
        "Ours run with n_jobs=None (one numba thread); Surprise has no threads.",
        *notes,
        *repeat_notes(results),
        *cpu_notes(results),
        "",
        "## Checks",
        "",
        *(check.line() for check in check_list),
        "",
        f"## First fit in a fresh process (import + load ML-100K + fit "
        f"{WARMUP_ROWS:,} rows)",
        "",
        *first_fit_table(report["first_fit"]),
        "",
        f"Peak RSS of the benchmark process: {report['peak_rss_mib']:.0f} MiB. "
        f"Load average (1 min) at start {report['load_average'][0]:.2f}, "
        f"at end {report['load_average'][1]:.2f}. "
        f"Total run time {report['total_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    # .tmp files are git-ignored; an interrupted run never leaves half a result.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def save(report: dict[str, Any], check_list: list[Check], out: Path) -> str:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(report, check_list)
    data = {
        **report,
        "checks": [{**asdict(c), "status": c.status} for c in check_list],
    }
    write_atomic(out.with_name(out.name + ".json"), json.dumps(data, indent=2) + "\n")
    write_atomic(out.with_name(out.name + ".md"), text)
    return text


# -------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output path without suffix; writes <out>.json and <out>.md",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    # Taken first: the repository may move on during a run, and what is measured is
    # the code imported now.
    env = environment()
    print("first-fit latency (fresh processes)", flush=True)
    first = first_fit_latency()
    models = all_models()
    X_warm, y_warm = fetch_movielens(
        "ml-100k", download_if_missing=False, return_X_y=True
    )
    warm_up(models, X_warm, y_warm)
    results = {dataset: run_dataset(dataset, models) for dataset in args.datasets}
    report = {
        "environment": env,
        "results": results,
        "first_fit": first,
        "peak_rss_mib": peak_rss_mib(),
        "load_average": [load_start, os.getloadavg()[0]],
        "total_s": time.perf_counter() - start,
    }
    print()
    print(save(report, checks(results), args.out))


if __name__ == "__main__":
    main()
