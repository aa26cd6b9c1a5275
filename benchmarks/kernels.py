"""Kernel benchmark: SGD throughput, thread scaling of every solver, fit at scale.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/kernels.py \
        [--sizes 1M 5M 25M] [--out benchmarks/results/kernels]

Throughput and thread scaling use the ML-1M 90/10 training rows; the scale runs use
``make_ratings`` data, each fit in a fresh subprocess so that its memory is its own.
Writes <out>.json and <out>.md; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import peers
from _common import (
    RESULTS,
    WARMUP_ROWS,
    environment,
    header_line,
    load_dataset,
    memory_kib,
    reset_peak_memory,
    scale_ratings,
    scale_shape,
    silence_expected_warnings,
    splits_for,
    synthetic_size,
    threads_at_any_size,
    write_report,
)

from sklearn_mf import MatrixFactorization

PACKAGES = ("sklearn-mf", "numpy", "numba", "scikit-learn")
DEFAULT_OUT = RESULTS / "kernels"
REPEATS = 3

# Issue targets, checked in the markdown.
MIN_SGD_RATINGS_PER_S = 10e6
MIN_SPEEDUP = 1.6
MAX_FIT_MEMORY_RATIO = 3.0

# Settings whose fit time is compared on 1 and 2 threads: each solver with a fixed
# number of epochs (tol=None), so that both runs do the same work.
# A fixed alpha: "auto" would add its penalty search to the fits compared.
THREAD_PARAMS: dict[str, dict[str, Any]] = {
    "cg (defaults, 10 epochs)": {
        "solver": "cg",
        "alpha": 0.08,
        "max_iter": 10,
        "tol": None,
    },
    "als (defaults, 10 epochs)": {
        "solver": "als",
        "alpha": 0.08,
        "max_iter": 10,
        "tol": None,
    },
    "sgd @ Surprise SVD": peers.AT_SURPRISE_SVD,
}


def fastest_fits(X, y, variants: dict[Any, dict[str, Any]]) -> dict[Any, float]:
    """Per variant, the fastest of ``REPEATS`` fits in seconds.

    The variants take turns, so that a spell in which this shared machine is slow
    (the other core busy) does not land on one of them only.
    """
    times: dict[Any, list[float]] = {key: [] for key in variants}
    for _ in range(REPEATS):
        for key, params in variants.items():
            start = time.perf_counter()
            MatrixFactorization(**{"random_state": 0, **params}).fit(X, y)
            times[key].append(time.perf_counter() - start)
    return {key: min(seconds) for key, seconds in times.items()}


def sgd_throughput(X, y, n_components: int) -> dict[str, Any]:
    """Rating updates per second of one SGD thread, per-fit costs excluded.

    Two fits that differ only in their number of epochs: the difference of their
    times over the difference of epochs is the cost of one epoch (loss included).
    """
    params = {
        "solver": "sgd",
        "n_components": n_components,
        "tol": None,
        "learning_rate": 0.005,
        "alpha": 0.02,
        "n_jobs": 1,
    }
    short, long = 5, 25
    fits = fastest_fits(
        X, y, {epochs: {**params, "max_iter": epochs} for epochs in (short, long)}
    )
    short_s, long_s = fits[short], fits[long]
    epoch_s = (long_s - short_s) / (long - short)
    return {
        "n_components": n_components,
        "n_ratings": len(y),
        "epoch_s": epoch_s,
        "fixed_s": short_s - short * epoch_s,
        "ratings_per_s": len(y) / epoch_s,
    }


def thread_scaling(X, y) -> list[dict[str, Any]]:
    rows = []
    for name, params in THREAD_PARAMS.items():
        fits = fastest_fits(X, y, {n: {**params, "n_jobs": n} for n in (1, 2)})
        one, two = fits[1], fits[2]
        rows.append(
            {"model": name, "fit_s_1": one, "fit_s_2": two, "speedup": one / two}
        )
        print(f"  {name}: 1 thread {one:.2f} s, 2 threads {two:.2f} s", flush=True)
    return rows


# ------------------------------------------------------------------------- scale


def scale_worker(n_ratings: int) -> dict[str, Any]:
    """Generate, then fit the defaults once; memory from /proc (Linux only)."""
    # The 25M point is the issue's: 160,000 users x 60,000 items (_common.scale_shape).
    n_users, n_items = scale_shape(n_ratings)
    start = time.perf_counter()
    X, y = scale_ratings(n_ratings)
    generate_s = time.perf_counter() - start
    MatrixFactorization(max_iter=1).fit(X[:WARMUP_ROWS], y[:WARMUP_ROWS])
    rss_before = memory_kib("VmRSS")
    # Resetting the peak (VmHWM) to the current RSS makes the peak read afterwards
    # the fit's own, not the data generation's.
    reset_peak_memory()
    start = time.perf_counter()
    # The default solver at a fixed alpha: every epoch timed is the fit's own (the
    # cost of alpha="auto"'s search is core.py's).
    model = MatrixFactorization(alpha=0.08, random_state=0).fit(X, y)
    fit_s = time.perf_counter() - start
    input_mib = (X.nbytes + y.nbytes) / 2**20
    fit_peak_mib = (memory_kib("VmHWM") - rss_before) / 2**10
    return {
        "n_ratings": n_ratings,
        "n_users": n_users,
        "n_items": n_items,
        "generate_s": generate_s,
        "fit_s": fit_s,
        "n_iter": model.n_iter_,
        "s_per_million_rating_epochs": fit_s / model.n_iter_ / (n_ratings / 1e6),
        "input_mib": input_mib,
        "rss_before_fit_mib": rss_before / 2**10,
        "fit_peak_growth_mib": fit_peak_mib,
        "fit_memory_ratio": fit_peak_mib / input_mib,
    }


def scale_runs(sizes: Sequence[int], repeats: int = REPEATS) -> list[dict[str, Any]]:
    """Per size, the fastest of ``repeats`` fits, each in a fresh process.

    The sizes are interleaved (every size once, then again), so that a slow spell of
    this shared machine does not land on one size only. The row keeps every fit's
    time and cost per million rating-epochs (in round order), and the largest
    memory growth seen.
    """
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for _ in range(repeats):
        for n_ratings in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--scale-worker", str(n_ratings)],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(out.stdout.strip().splitlines()[-1])
            runs[n_ratings].append(run)
            print(
                f"  {n_ratings:,} ratings: fit {run['fit_s']:.1f} s ({run['n_iter']} "
                f"epochs), memory {run['fit_memory_ratio']:.2f}x inputs",
                flush=True,
            )
    rows = []
    for n_ratings in sizes:
        row = dict(min(runs[n_ratings], key=lambda run: run["fit_s"]))
        row["fit_s_runs"] = [run["fit_s"] for run in runs[n_ratings]]
        row["s_per_million_rating_epochs_runs"] = [
            run["s_per_million_rating_epochs"] for run in runs[n_ratings]
        ]
        for key in ("fit_peak_growth_mib", "fit_memory_ratio"):
            row[key] = max(run[key] for run in runs[n_ratings])
        rows.append(row)
    return rows


# ----------------------------------------------------------------------- report


def status(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Kernel benchmark",
        "",
        header_line(report["environment"]),
        "",
        "## SGD throughput (one thread, ML-1M 90/10 training rows)",
        "",
        "| factors | ratings | epoch s | ratings/s | per-fit cost s |",
        "|---|---|---|---|---|",
    ]
    for row in report["throughput"]:
        lines.append(
            f"| {row['n_components']} | {row['n_ratings']:,} | {row['epoch_s']:.4f} "
            f"| {row['ratings_per_s'] / 1e6:.1f} M | {row['fixed_s']:.3f} |"
        )
    k32 = next(r for r in report["throughput"] if r["n_components"] == 32)
    lines += [
        "",
        f"- {status(k32['ratings_per_s'] >= MIN_SGD_RATINGS_PER_S)}: "
        f"{k32['ratings_per_s'] / 1e6:.1f} M rating updates/s per core at 32 factors "
        f"(target >= {MIN_SGD_RATINGS_PER_S / 1e6:.0f} M).",
        "",
        f"## Thread scaling (ML-1M 90/10 training rows, whole fit, best of {REPEATS})",
        "",
        "| model | 1 thread s | 2 threads s | speed-up |",
        "|---|---|---|---|",
    ]
    for row in report["threads"]:
        lines.append(
            f"| {row['model']} | {row['fit_s_1']:.2f} | {row['fit_s_2']:.2f} "
            f"| {row['speedup']:.2f} {status(row['speedup'] >= MIN_SPEEDUP)} |"
        )
    lines += [
        "",
        f"Target: speed-up >= {MIN_SPEEDUP} on 2 cores.",
        "",
        "## Scale (make_ratings, defaults, one thread, fresh process per fit)",
        "",
        "| ratings | users x items | fit s (best) | all fits s | epochs "
        "| s per M rating-epochs | vs smallest | by round | input MiB "
        "| fit peak growth MiB | / input |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    smallest = report["scale"][0]["s_per_million_rating_epochs"]
    smallest_runs = report["scale"][0]["s_per_million_rating_epochs_runs"]
    for row in report["scale"]:
        by_round = ", ".join(
            f"{cost / smallest_cost:.2f}"
            for cost, smallest_cost in zip(
                row["s_per_million_rating_epochs_runs"], smallest_runs, strict=True
            )
        )
        ok = row["fit_memory_ratio"] < MAX_FIT_MEMORY_RATIO
        per_million = row["s_per_million_rating_epochs"]
        all_fits = ", ".join(f"{fit_s:.1f}" for fit_s in row["fit_s_runs"])
        lines.append(
            f"| {row['n_ratings']:,} | {row['n_users']:,} x {row['n_items']:,} "
            f"| {row['fit_s']:.1f} | {all_fits} | {row['n_iter']} "
            f"| {per_million:.3f} | {per_million / smallest:.2f}x | {by_round} "
            f"| {row['input_mib']:.0f} | {row['fit_peak_growth_mib']:.0f} "
            f"| {row['fit_memory_ratio']:.2f} {status(ok)} |"
        )
    lines += [
        "",
        "Fit s is the fastest of the fits listed (sizes interleaved, each fit in a "
        "fresh process); linear cost means a flat 's per M rating-epochs' column. 'vs "
        "smallest' divides the fastest fits' costs, 'by round' each fit's cost by the "
        "smallest size's in the same round (fits minutes apart, not the whole run: "
        "this machine's speed drifts). Fit "
        "peak growth is the largest over the fits of the peak resident memory during "
        "the fit minus the resident memory just before it; target below "
        f"{MAX_FIT_MEMORY_RATIO:.0f}x the input arrays (X and y).",
        "",
        f"Total run time {report['total_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def parse_size(text: str) -> int:
    size = synthetic_size("synthetic-" + text)
    if size is None or size < 10 * WARMUP_ROWS:
        raise argparse.ArgumentTypeError(f"expected a size like 5M, got {text!r}")
    return size


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="*",
        type=parse_size,
        default=[1_000_000, 5_000_000, 25_000_000],
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--scale-worker", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    silence_expected_warnings()
    if args.scale_worker:
        print(json.dumps(scale_worker(args.scale_worker)))
        return
    start = time.perf_counter()
    env = environment(PACKAGES)
    X, y = load_dataset("ml-1m")
    ((train, _),) = splits_for("ml-1m", len(y))
    X, y = X.iloc[train], y.iloc[train]
    for threads in (contextlib.nullcontext(), threads_at_any_size()):
        with threads:
            for solver in ("sgd", "als"):
                MatrixFactorization(max_iter=1, solver=solver, n_jobs=-1).fit(
                    X[:WARMUP_ROWS], y[:WARMUP_ROWS]
                )
    print("SGD throughput", flush=True)
    throughput = [sgd_throughput(X, y, k) for k in (32, 100)]
    print("thread scaling", flush=True)
    threads = thread_scaling(X, y)
    print("scale", flush=True)
    scale = scale_runs(args.sizes)
    report = {
        "environment": env,
        "throughput": throughput,
        "threads": threads,
        "scale": scale,
        "load_average_end": os.getloadavg()[0],
        "total_s": time.perf_counter() - start,
    }
    text = markdown(report)
    write_report(args.out, report, text)
    print(text)


if __name__ == "__main__":
    main()
