"""What every benchmark script shares: data, splits, the timed runner, reports.

core.py (ours against Surprise, all in one process) and run.py (every peer, one
subprocess per model) both build on this module, so the two measure the same way:
the same splits, the same split of the work into prepare / fit / predict, the same
pooled metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, train_test_split
from threadpoolctl import threadpool_info

from sklearn_mf.datasets import fetch_movielens, make_ratings

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
WARMUP_ROWS = 2_000

# Synthetic-N data: users and items grow with N at MovieLens-1M-like proportions
# (ML-1M: 1,000,209 ratings, 6,040 users, 3,706 items, so about N/160 users and
# N/270 items); rank 10, noise 0.5, clipped to the 1..5 stars of MovieLens. Below
# about 4 million ratings those proportions would fill more than a tenth of the
# matrix (ML-1M fills 4.5%), so both counts then grow by the same factor until the
# density is 10%.
MAX_SYNTHETIC_DENSITY = 0.1
SYNTHETIC_USERS_PER_RATING = 1 / 160
SYNTHETIC_ITEMS_PER_RATING = 1 / 270

# The planted problem of the scale runs (kernels.py, distributed.py): 160,000 users x
# 60,000 items at 25M ratings; smaller sizes keep its ratings per user and per item.
SCALE_USERS_PER_RATING = 160_000 / 25e6
SCALE_ITEMS_PER_RATING = 60_000 / 25e6

Split = tuple[np.ndarray, np.ndarray]


def silence_expected_warnings() -> None:
    """Our default (tol=1e-3, max_iter=20) may stop at max_iter on some splits.

    The warning is expected in a benchmark and would only clutter the output. It is
    matched by message because _fit_context makes the warning's module sklearn.base,
    not sklearn_mf.
    """
    warnings.filterwarnings(
        "ignore", message="MatrixFactorization stopped", category=ConvergenceWarning
    )


# -------------------------------------------------------------------------- data


def protocol(dataset: str) -> str:
    return protocol_text(kfold=dataset == "ml-100k")


def protocol_text(kfold: bool) -> str:
    """How ``make_splits(n, kfold)`` splits the rows, for the reports."""
    if kfold:
        return (
            "KFold(5, shuffle=True, random_state=0) over rows; metrics pooled over "
            "all test rows, seconds summed over folds"
        )
    return "train_test_split(test_size=0.1, random_state=0) over row indices"


def synthetic_size(dataset: str) -> int | None:
    """N of 'synthetic-N' (underscores and a k/M suffix allowed), else None."""
    if not dataset.startswith("synthetic-"):
        return None
    text = dataset.removeprefix("synthetic-").replace("_", "").lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def synthetic_shape(n_ratings: int) -> tuple[int, int]:
    users = n_ratings * SYNTHETIC_USERS_PER_RATING
    items = n_ratings * SYNTHETIC_ITEMS_PER_RATING
    grow = max(1.0, np.sqrt(n_ratings / MAX_SYNTHETIC_DENSITY / (users * items)))
    return max(2, round(users * grow)), max(2, round(items * grow))


def load_dataset(dataset: str) -> tuple[pd.DataFrame, pd.Series]:
    """X (user, item columns) and y of a MovieLens variant or synthetic-N."""
    n_ratings = synthetic_size(dataset)
    if n_ratings is None:
        return fetch_movielens(dataset, download_if_missing=False, return_X_y=True)
    n_users, n_items = synthetic_shape(n_ratings)
    X, y, _truth = make_ratings(
        n_users=n_users,
        n_items=n_items,
        n_ratings=n_ratings,
        n_components=10,
        noise=0.5,
        rating_range=(1.0, 5.0),
        as_frame=True,
        random_state=0,
    )
    return X, y


def scale_shape(n_ratings: int) -> tuple[int, int]:
    """Users and items of the planted scale problem of ``n_ratings`` ratings."""
    return (
        round(n_ratings * SCALE_USERS_PER_RATING),
        round(n_ratings * SCALE_ITEMS_PER_RATING),
    )


def scale_ratings(n_ratings: int) -> tuple[np.ndarray, np.ndarray]:
    """X (user, item ids; int64) and y of the planted scale problem: ``make_ratings``
    with its defaults (rank 5, noise 0.5) and ``random_state=0``."""
    n_users, n_items = scale_shape(n_ratings)
    X, y, _ = make_ratings(
        n_users=n_users, n_items=n_items, n_ratings=n_ratings, random_state=0
    )
    return X, y


def splits_for(dataset: str, n_samples: int) -> list[Split]:
    return make_splits(n_samples, kfold=dataset == "ml-100k")


def make_splits(n_samples: int, kfold: bool) -> list[Split]:
    """The 5 shuffled folds (``kfold``), or the one 90/10 split of the row indices."""
    if kfold:
        folds = KFold(5, shuffle=True, random_state=0)
        return list(folds.split(np.arange(n_samples)))
    train, test = train_test_split(np.arange(n_samples), test_size=0.1, random_state=0)
    return [(train, test)]


# ------------------------------------------------------------------------ runner


@dataclass(frozen=True)
class Model:
    """How to run one model: the benchmark times each callable separately."""

    name: str
    # Library-specific conversion of the training rows; timed as prepare_s, not fit.
    prepare: Callable[[pd.DataFrame, pd.Series], Any]
    fit: Callable[[Any], Any]
    predict: Callable[[Any, pd.DataFrame], np.ndarray]


@dataclass
class Run:
    """One model on one split."""

    prediction: np.ndarray
    prepare_s: float
    fit_s: float
    predict_s: float
    # CPU seconds of the whole process during fit, all threads: above fit_s when
    # threads (numba's, or BLAS workers spinning while idle) take a second core,
    # which a busy machine then takes away. A JVM's threads are not counted.
    fit_cpu_s: float


def run_split(
    model: Model, X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame
) -> Run:
    start = time.perf_counter()
    data = model.prepare(X_train, y_train)
    prepared, cpu_start = time.perf_counter(), time.process_time()
    fitted = model.fit(data)
    fitted_at, cpu_end = time.perf_counter(), time.process_time()
    prediction = np.asarray(model.predict(fitted, X_test), dtype=float)
    done = time.perf_counter()
    return Run(
        prediction,
        prepare_s=prepared - start,
        fit_s=fitted_at - prepared,
        predict_s=done - fitted_at,
        fit_cpu_s=cpu_end - cpu_start,
    )


@contextlib.contextmanager
def threads_at_any_size() -> Iterator[None]:
    """Within this block our fits and predictions run on the threads their
    ``n_jobs`` asks for whatever their size.

    Our parallel kernels are built twice, with threads and for one thread
    (``sklearn_mf._kernels._parallel``), and work below
    ``sklearn_mf.utils._threads.MIN_WORK_PER_THREAD`` runs on one thread: a warm-up
    on a small slice alone would leave the threaded builds to be compiled (or
    loaded) inside the first timed call.
    """
    from sklearn_mf.utils import _threads

    previous = _threads.MIN_WORK_PER_THREAD
    _threads.MIN_WORK_PER_THREAD = 1
    try:
        yield
    finally:
        _threads.MIN_WORK_PER_THREAD = previous


def warm_up(models: Iterable[Model], X: pd.DataFrame, y: pd.Series) -> None:
    """Fit and predict every model on a small slice before anything is timed: once
    as it is, once with :func:`threads_at_any_size`.

    numba compiles (or loads from its cache) our kernels on the first call in a
    process; that one-off cost is not what a fit costs. Peers get the same
    treatment (it also starts Spark's JVM), so the rule needs no exceptions.
    """
    X_small, y_small = X.iloc[:WARMUP_ROWS], y.iloc[:WARMUP_ROWS]
    models = list(models)
    for model in models:
        run_split(model, X_small, y_small, X_small)
    with threads_at_any_size():
        for model in models:
            run_split(model, X_small, y_small, X_small)


def summarize(
    runs: list[list[Run]], y: pd.Series, splits: Sequence[Split]
) -> dict[str, Any]:
    """Pooled metrics over all test rows; seconds summed over splits.

    ``runs[split]`` lists one model's repeats on that split. A model run more than
    once on a split counts with the mean of its repeats, and its first repeat's
    predictions (repeats share random_state, and identical is checked).
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


# ----------------------------------------------------------------------- reports


def best_of(repeats: int, call: Callable[[], Any]) -> float:
    """The shortest of ``repeats`` timed calls of ``call``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    peak = resource.getrusage(who).ru_maxrss
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def memory_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in KiB:
    ``VmRSS`` (resident now), ``VmHWM`` (peak resident, which writing 5 to
    /proc/self/clear_refs resets to the current resident memory)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_memory() -> None:
    """Reset this process's ``VmHWM`` to its current resident memory (Linux)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def git_state(checkout: Path = REPO) -> dict[str, Any]:
    """The commit of ``checkout`` and whether its tree holds other changes (empty
    and False where it is no git checkout)."""

    def git(*args: str) -> str:
        # GIT_OPTIONAL_LOCKS=0: never take the index lock others may be using.
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
        out = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, env=env
        )
        return out.stdout.strip()

    # Results written by an earlier benchmark in the same tree change nothing that
    # is measured: only other changes make the tree dirty.
    changed = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":(exclude)benchmarks/results",
        ":(exclude)docs/benchmarks.rst",
        ":(exclude)docs/_static/benchmarks.png",
    )
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(changed)}


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def environment(packages: Sequence[str]) -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "versions": {name: package_version(name) for name in packages},
        # Thread pools a fit may use: they decide how much a busy machine slows it.
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "blas": [
            {k: pool[k] for k in ("internal_api", "version", "num_threads")}
            for pool in threadpool_info()
        ],
        "git": git_state(),
    }


def header_line(env: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    return (
        f"{env['date']} · {env['platform']} · {env['cpu_count']} CPUs · "
        f"Python {env['python']} · {versions} · commit {env['git']['commit'][:10]}"
        + (" (dirty tree)" if env["git"]["dirty"] else "")
    )


def write_atomic(path: Path, text: str) -> None:
    # .tmp files are git-ignored; an interrupted run never leaves half a result.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_report(out: Path, report: dict[str, Any], text: str) -> None:
    """Write ``<out>.json`` (every number) and ``<out>.md`` (the table)."""
    write_atomic(
        out.with_name(out.name + ".json"),
        json.dumps(report, indent=2, default=str) + "\n",
    )
    write_atomic(out.with_name(out.name + ".md"), text)


def run_per_dataset(
    description: str,
    datasets: Sequence[str],
    default_out: Path,
    packages: Sequence[str],
    run_dataset: Callable[[str], Any],
    markdown: Callable[[dict[str, Any]], str],
    argv: Sequence[str] | None = None,
) -> None:
    """The command line of a benchmark run once per data set.

    Parses ``--datasets`` (from ``datasets``) and ``--out``, runs ``run_dataset`` on
    each, and writes ``{"environment", "results", "total_s"}`` to ``<out>.json``
    with ``markdown(report)`` in ``<out>.md``, which it also prints.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--datasets", nargs="+", choices=datasets, default=datasets)
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    env = environment(packages)
    results = {dataset: run_dataset(dataset) for dataset in args.datasets}
    report = {
        "environment": env,
        "results": results,
        "total_s": time.perf_counter() - start,
    }
    text = markdown(report)
    write_report(args.out, report, text)
    print(text)


# The environment the benchmark started with, for its worker processes: starting a
# Dask LocalCluster sets OMP_NUM_THREADS=1 (and MKL's, OpenBLAS's) in this process
# for good, which would hold a later local fit to one thread.
_START_ENVIRONMENT = dict(os.environ)


def run_json_worker(
    arguments: Sequence[str],
    timeout: float,
    on_success: Callable[[subprocess.CompletedProcess, Path], dict] | None = None,
) -> dict[str, Any]:
    """Run ``python <arguments> --worker-out <file>`` in a fresh interpreter and
    return the JSON it wrote there, with its wall time as ``process_wall_s``; on a
    timeout or a failure, ``{"error": why}`` instead (the last lines of its stderr).
    ``on_success(process, file)`` may add entries read from beside the file."""
    with tempfile.TemporaryDirectory(prefix="sklearn_mf_bench_") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, *arguments, "--worker-out", str(out)]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=_START_ENVIRONMENT,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s (--timeout)"}
        wall_s = time.perf_counter() - start
        if proc.returncode or not out.exists():
            sys.stderr.write(proc.stderr)
            tail = [line for line in proc.stderr.strip().splitlines() if line][-3:]
            return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
        result = {**json.loads(out.read_text()), "process_wall_s": wall_s}
        if on_success is not None:
            result.update(on_success(proc, out))
        return result


# ----------------------------------------------------------------------- reports


def md_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], text: Sequence[str] = ()
) -> list[str]:
    """A markdown table: the first column and those named in ``text`` flush left,
    the others (numbers) right."""
    align = ["---"] + ["---" if h in text else "---:" for h in header[1:]]
    return ["| " + " | ".join(cells) + " |" for cells in (header, align, *rows)]


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


def first_fit(
    params: dict[str, Any], cache_dir: str, build: Path | None = None
) -> dict[str, float]:
    """Wall time of a fresh `python -c`: start-up, imports, loading, one small fit
    (``WARMUP_ROWS`` ratings of ML-100K) with numba's cache in ``cache_dir``; the
    package comes from ``build`` (first on PYTHONPATH) when given."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    if build is not None:
        env["PYTHONPATH"] = str(build)
    code = FIRST_FIT_CODE.format(rows=WARMUP_ROWS)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)],
        env=env,
        # `python -c` puts the working directory first on sys.path: run from the
        # build, or a checkout there would be imported instead of it.
        cwd=build,
        capture_output=True,
        text=True,
        check=True,
    )
    wall_s = time.perf_counter() - start
    return {"wall_s": wall_s, **json.loads(result.stdout.strip().splitlines()[-1])}


def precompile(cache_dir: str, build: Path | None = None) -> float | None:
    """Seconds that the install's compilation of the default fit's kernels
    (``sklearn_mf._kernels._precompile``) takes into ``cache_dir``, in a fresh
    process; None when the build (first on PYTHONPATH) has no such step."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    if build is not None:
        env["PYTHONPATH"] = str(build)
        if not (build / "sklearn_mf" / "_kernels" / "_precompile.py").exists():
            return None
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sklearn_mf._kernels._precompile"],
        env=env,
        cwd=build,
        check=True,
    )
    return time.perf_counter() - start


# ------------------------------------------------- before/after: two checkouts


def comparison_arguments(
    description: str, default_out: Path, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """The command line of a benchmark that can compare two checkouts: ``--old``
    (another checkout), ``--out``, and ``--worker ARG...`` (internal: one
    measurement, run by :func:`run_in_build`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--old", type=Path, help="another checkout to compare with")
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def builds(old: Path | None) -> dict[str, Path]:
    """The checkouts to measure: ``old`` (when given), then this one, ``new``."""
    new = {"new": REPO}
    return new if old is None else {"old": old.resolve(), **new}


def builds_note(report: dict[str, Any]) -> str:
    """The sentence that says which checkouts the report's builds are."""
    old = report.get("old_git", {})
    which = ""
    if old.get("commit"):
        which = (
            f" (commit {old['commit'][:10]}{', dirty tree' if old['dirty'] else ''})"
        )
    return f"A build is this checkout (new) or the one given by --old{which}."


def run_in_build(
    script: str, build: Path, *args: str, env: dict[str, str] | None = None
) -> Any:
    """Run ``python <script> --worker <args>`` in a fresh interpreter that imports
    the package from ``build`` (first on PYTHONPATH); return the JSON it printed
    last."""
    result = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--worker", *args],
        env={**os.environ, **(env or {}), "PYTHONPATH": str(build)},
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_comparison(
    args: argparse.Namespace,
    measure: Callable[[dict[str, Path]], dict[str, Any]],
    report_text: Callable[[dict[str, Any]], str],
    packages: Sequence[str],
) -> None:
    """Measure the builds of ``args``, then write and print the report."""
    start = time.perf_counter()
    report = measure(builds(args.old))
    report["environment"] = environment(packages)
    if args.old is not None:
        report["old_git"] = git_state(args.old.resolve())
    report["total_s"] = time.perf_counter() - start
    write_report(args.out, report, report_text(report))
    print(report_text(report))
