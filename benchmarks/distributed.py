"""Distributed benchmark: DaskMatrixFactorization against the local fit and Spark ALS.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/distributed.py \\
        [--datasets ml-1m 25M] [--max-iter 10] [--partitions 8] \\
        [--peers spark|none] [--out benchmarks/results/distributed]

For each data set (ML-1M, and kernels.py's planted scale problem: 25M ratings of
160,000 users x 60,000 items, or any size such as 1M for a quick check), three fits
at the same settings (rank 64, cg, alpha 0.08, a fixed number of epochs):

- the local ``MatrixFactorization(n_jobs=2)``, in a fresh subprocess: fit time and
  peak resident memory during the fit;
- ``DaskMatrixFactorization`` on a fresh ``LocalCluster`` of 2 worker processes of one
  thread each, the ratings made on the workers: fit time, each worker's peak resident
  memory during the fit, the bytes the workers send each other per epoch (measured,
  and predicted from the data), and how far its predictions are from the local fit's;
- Spark's ALS (``local[2]``, the same rank and iterations), in a subprocess: fit time.

Writes <out>.json and <out>.md; see benchmarks/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file has the name of the ``distributed`` package, and Python puts the folder
# of the script it runs first on sys.path: move that folder behind site-packages, so
# that ``distributed`` is the package and _common, kernels and peers still import.
# The Dask workers inherit this sys.path, and import this file as their main module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import peers  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    WARMUP_ROWS,
    environment,
    header_line,
    load_dataset,
    maxrss_mib,
    memory_kib,
    ratio,
    reset_peak_memory,
    run_json_worker,
    scale_ratings,
    write_atomic,
    write_report,
)
from distributed import Client, LocalCluster, wait  # noqa: E402
from kernels import parse_size  # noqa: E402

from sklearn_mf import MatrixFactorization  # noqa: E402
from sklearn_mf._ratings import chunk_bounds  # noqa: E402
from sklearn_mf._solvers import gathers_in_float32  # noqa: E402
from sklearn_mf.dask import DaskMatrixFactorization  # noqa: E402

PACKAGES = (
    "sklearn-mf",
    "numpy",
    "numba",
    "scikit-learn",
    "dask",
    "distributed",
    "pyspark",
)
DEFAULT_OUT = RESULTS / "distributed"
DATASETS = ("ml-1m", "25M")

# The settings of kernels.py's scale runs (the library's defaults: rank 64, cg with 3
# steps, at a fixed alpha), with a fixed number of epochs (tol=None) for all three.
PARAMS: dict[str, Any] = {
    "n_components": 64,
    "solver": "cg",
    "cg_steps": 3,
    "alpha": 0.08,
    "tol": None,
    "random_state": 0,
}
MAX_ITER = 10
N_WORKERS = 2  # of one thread each: the 2 cores of the local fit and of Spark
PARTITIONS = 8
SAMPLE_ROWS = 10_000  # rows both fits predict, for their largest difference
TIMEOUT_S = 1800
# Transfers each worker logs (distributed.admin.low-level-log-length): enough to
# keep every transfer of a fit, so that the bytes sent to other workers can be told
# from those sent to the client.
LOG_LENGTH = 100_000

# Targets, checked in the markdown; set for the 25M planted set.
TARGET_DATASET = "planted-25M"
MAX_TIME_RATIO = 1.5  # distributed fit s / local fit s
MAX_MEMORY_SHARE = 0.6  # distributed peak per worker / local peak


# -------------------------------------------------------------------------- data


def planted_size(dataset: str) -> int | None:
    """The number of ratings of 'planted-N', None for ML-1M."""
    if dataset == "ml-1m":
        return None
    return parse_size(dataset.removeprefix("planted-"))


def parse_dataset(text: str) -> str:
    """'ml-1m', or a size such as 25M: 'planted-25M', the planted problem of that
    size."""
    if text.lower() == "ml-1m":
        return "ml-1m"
    n_ratings = parse_size(text.removeprefix("planted-"))  # raises on a bad size
    for unit, suffix in ((10**6, "M"), (10**3, "k")):
        if n_ratings % unit == 0:
            return f"planted-{n_ratings // unit}{suffix}"
    return f"planted-{n_ratings}"


def load_ratings(dataset: str) -> tuple[Any, np.ndarray]:
    """X and y in memory: ML-1M as fetch_movielens returns it, or the planted
    problem (``_common.scale_ratings``, as kernels.py's scale runs)."""
    n_ratings = planted_size(dataset)
    if n_ratings is None:
        X, y = load_dataset("ml-1m")
        return X, y.to_numpy()
    return scale_ratings(n_ratings)


def id_columns(X) -> tuple[np.ndarray, np.ndarray]:
    X = X.to_numpy() if isinstance(X, pd.DataFrame) else X
    return X[:, 0], X[:, 1]


def take_rows(X, rows) -> Any:
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def partition(part: int, dataset: str, n_partitions: int) -> pd.DataFrame:
    """Rows ``part * n / P`` to ``(part + 1) * n / P`` of the ratings (user, item,
    rating), made by the worker that runs this task.

    make_ratings draws the rated cells over the whole matrix, so each task generates
    all of it (a few seconds at 25M) and keeps its rows (ML-1M: reads the file): the
    partitions are then exactly the local fit's ratings, in the same order.
    """
    X, y = load_ratings(dataset)
    users, items = id_columns(X)
    low = y.shape[0] * part // n_partitions
    high = y.shape[0] * (part + 1) // n_partitions
    return pd.DataFrame(
        {
            "user": users[low:high].copy(),
            "item": items[low:high].copy(),
            "rating": y[low:high].copy(),
        },
        index=pd.RangeIndex(low, high),
    )


def ratings_collection(dataset: str, n_partitions: int) -> dd.DataFrame:
    """The ratings as a Dask DataFrame (user, item, rating) whose partitions are made
    on the workers: the client never holds the ratings."""
    meta = pd.DataFrame(
        {
            "user": np.zeros(0, dtype=np.int64),
            "item": np.zeros(0, dtype=np.int64),
            "rating": np.zeros(0),
        }
    )
    return dd.from_map(
        partition,
        range(n_partitions),
        args=[dataset, n_partitions],
        meta=meta,
        enforce_metadata=False,
    )


# ------------------------------------------------------------ predicted traffic


def predicted_traffic(
    users: np.ndarray,
    items: np.ndarray,
    n_components: int,
    cg_steps: int | None,
    n_workers: int = N_WORKERS,
) -> dict[str, Any]:
    """The bytes of factor rows that a distributed epoch ships between workers.

    Each side is cut into blocks as sklearn_mf/dask/_fit.py's ``layout`` cuts it
    (``chunk_bounds`` of the per-row rating counts, rows in the order of their sorted
    ids), block ``b`` on worker ``b % n_workers`` (``Placement``, for workers of one
    thread). A half-step of a side ships to its block ``b``, from each block ``j`` of
    the other side on another worker, the rows of ``j`` that ``b``'s ratings name:
    one per distinct (other-side row, receiving block) pair, each a float64 bias and
    a vector of float64, or float32 when the half-step reads the other side in
    float32 (``gathers_in_float32``).
    """
    codes, bounds = {}, {}
    for side, ids in (("user", users), ("item", items)):
        _, codes[side] = np.unique(ids, return_inverse=True)
        counts = np.bincount(codes[side])
        indptr = np.concatenate(([0], np.cumsum(counts)))
        bounds[side] = chunk_bounds(indptr, n_components, n_workers)
    half_steps = {}
    for side, other in (("user", "item"), ("item", "user")):
        n_blocks = bounds[side].shape[0] - 1
        receiver = np.searchsorted(bounds[side], codes[side], side="right") - 1
        pairs = np.unique(codes[other].astype(np.int64) * n_blocks + receiver)
        row, receiver = np.divmod(pairs, n_blocks)
        sender = np.searchsorted(bounds[other], row, side="right") - 1
        cross = int(np.count_nonzero(sender % n_workers != receiver % n_workers))
        n_other = bounds[other][-1]
        float32 = gathers_in_float32(int(n_other), n_components, cg_steps)
        row_bytes = 8 + n_components * (4 if float32 else 8)
        half_steps[side] = {
            "blocks": n_blocks,
            "bounds": bounds[side].tolist(),
            "rows_received": int(pairs.shape[0]),
            "rows_received_from_other_workers": cross,
            "other_side_rows": int(n_other),
            "float32": float32,
            "bytes_per_row": row_bytes,
            "bytes": cross * row_bytes,
        }
    return {
        "n_workers": n_workers,
        "half_steps": half_steps,
        "bytes_per_epoch": sum(h["bytes"] for h in half_steps.values()),
    }


# ------------------------------------------------------------------ local worker


class EpochClock(io.StringIO):
    """The standard output of a fit with ``verbose=1``, which prints a line at the
    end of each epoch: ``ends`` holds the wall-clock time (the clock of Dask's
    transfer logs) of each line."""

    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def write(self, text: str) -> int:
        if text.strip():
            self.ends.append(time.time())
        return super().write(text)

    def split(self, fit_s: float, n_iter: int) -> dict[str, float | None]:
        """The time of an epoch (epochs 2 to n_iter; the first may still wait for
        the setup's last tasks), and the rest of the fit: validation, setup, the
        model brought back."""
        if n_iter < 2 or len(self.ends) != n_iter:
            return {"epoch_s": None, "setup_s": None}
        epoch_s = (self.ends[-1] - self.ends[0]) / (n_iter - 1)
        return {"epoch_s": epoch_s, "setup_s": fit_s - n_iter * epoch_s}


def local_worker(dataset: str, max_iter: int, sample_path: Path) -> dict[str, Any]:
    """Load, fit ``MatrixFactorization(n_jobs=2)``, predict a sample; memory from
    /proc (Linux). Also predicts the distributed fit's traffic, after the fit."""
    start = time.perf_counter()
    X, y = load_ratings(dataset)
    load_s = time.perf_counter() - start
    params = {**PARAMS, "n_jobs": N_WORKERS}
    # Untimed: compiles numba's kernels, or loads them from the cache.
    head = np.arange(min(WARMUP_ROWS, y.shape[0]))
    MatrixFactorization(**{**params, "max_iter": 1}).fit(take_rows(X, head), y[head])
    gc.collect()
    rss_before = memory_kib("VmRSS")
    reset_peak_memory()
    model = MatrixFactorization(**params, max_iter=max_iter, verbose=1)
    clock = EpochClock()
    start = time.perf_counter()
    with contextlib.redirect_stdout(clock):
        model.fit(X, y)
    fit_s = time.perf_counter() - start
    fit_peak = memory_kib("VmHWM")
    users, items = id_columns(X)
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(y.shape[0], min(SAMPLE_ROWS, y.shape[0]), replace=False))
    np.savez(
        sample_path,
        users=users[rows],
        items=items[rows],
        prediction=model.predict(take_rows(X, rows)),
    )
    return {
        "n_ratings": int(y.shape[0]),
        "n_users": int(model.users_.shape[0]),
        "n_items": int(model.items_.shape[0]),
        "load_s": load_s,
        "fit_s": fit_s,
        "n_iter": int(model.n_iter_),
        **clock.split(fit_s, int(model.n_iter_)),
        "final_loss": float(model.loss_curve_[-1]),
        "input_mib": (np.asarray(X).nbytes + y.nbytes) / 2**20,
        "rss_before_fit_mib": rss_before / 2**10,
        "fit_peak_rss_mib": fit_peak / 2**10,
        "fit_peak_growth_mib": (fit_peak - rss_before) / 2**10,
        # Of the whole process, data generation or loading included.
        "process_peak_rss_mib": memory_kib("VmHWM") / 2**10,
        "ru_maxrss_mib": maxrss_mib(),
        "predicted_traffic": predicted_traffic(
            users, items, PARAMS["n_components"], PARAMS["cg_steps"]
        ),
    }


# ------------------------------------------------------------------ spark worker


def spark_reg_param(y: np.ndarray) -> float:
    """Spark's regParam for our alpha: the inverse of ``peers.in_our_units`` (a
    peer's penalty ``reg`` on raw ratings is our ``alpha = reg / s``, ``s`` the std
    of the ratings)."""
    return PARAMS["alpha"] * float(np.std(y))


def spark_worker(dataset: str, max_iter: int) -> dict[str, Any]:
    """Spark's ALS at our settings, on ``local[2]`` (peers.py's session)."""
    from pyspark.ml.recommendation import ALS

    X, y = load_ratings(dataset)
    users, items = id_columns(X)
    frame = pd.DataFrame({"user": users, "item": items, "rating": y})
    del X, users, items
    reg_param = spark_reg_param(y)

    def als(iterations: int) -> Any:
        # No biases in Spark's model; implicitPrefs=False is its explicit ALS.
        return ALS(
            rank=PARAMS["n_components"],
            maxIter=iterations,
            regParam=reg_param,
            implicitPrefs=False,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
            seed=0,
        )

    spark = peers._spark_session()
    # Untimed: the JVM's start, class loading and JIT of ALS's code.
    als(1).fit(spark.createDataFrame(frame.iloc[:WARMUP_ROWS]))
    start = time.perf_counter()
    df = spark.createDataFrame(frame).cache()
    df.count()  # materialise the cache outside the fit timer
    prepare_s = time.perf_counter() - start
    del frame
    start = time.perf_counter()
    als(max_iter).fit(df)  # ALS materialises its factors before it returns
    fit_s = time.perf_counter() - start
    peers._stop_spark(spark)
    own, jvm = maxrss_mib(resource.RUSAGE_SELF), maxrss_mib(resource.RUSAGE_CHILDREN)
    return {
        "settings": f"ALS(rank={PARAMS['n_components']}, maxIter={max_iter}, "
        f"regParam={reg_param:.4f}, implicitPrefs=False, seed=0), local[2]",
        "reg_param": reg_param,
        "prepare_s": prepare_s,
        "fit_s": fit_s,
        # As run.py: the worker's peak plus that of the JVM, which it waited for.
        "peak_rss_mib": own + jvm,
        "rss_self_mib": own,
        "rss_jvm_mib": jvm,
    }


def run_worker(kind: str, dataset: str, max_iter: int, timeout: float) -> dict:
    """Run ``--<kind>-worker`` in a fresh interpreter; on failure, say why."""

    def sample(proc, out: Path) -> dict:
        path = out.with_suffix(".npz")
        if not path.exists():
            return {}
        with np.load(path) as arrays:
            return {"sample": {key: arrays[key] for key in arrays.files}}

    return run_json_worker(
        [__file__, f"--{kind}-worker", dataset, "--max-iter", str(max_iter)],
        timeout,
        sample,
    )


# ------------------------------------------------------------------ distributed
# The functions below run on the workers, through client.run.


def _memory() -> dict[str, float]:
    gc.collect()
    return {
        "rss_mib": memory_kib("VmRSS") / 2**10,
        "peak_rss_mib": memory_kib("VmHWM") / 2**10,
        "ru_maxrss_mib": maxrss_mib(),
    }


def _start_fit(dask_worker) -> dict[str, Any]:
    """Reset the worker's peak memory; its transfer counters before the fit."""
    memory = _memory()
    reset_peak_memory()
    return {
        **memory,
        "sent_bytes": dask_worker.transfer_outgoing_bytes_total,
        "sent_count": dask_worker.transfer_outgoing_count_total,
    }


def _end_fit(before: dict, epochs: tuple | None, dask_worker) -> dict[str, Any]:
    """The worker's peak memory during the fit, and what it sent since ``before``,
    from its log of transfers: per receiver (a worker's address; 'None' for the
    client), in all and in the transfers that started within ``epochs`` (wall-clock
    times), the bytes as Dask counts them (the sizeof of the data) and as written to
    the connection."""
    mine = before[dask_worker.address]
    n_sent = dask_worker.transfer_outgoing_count_total - mine["sent_count"]
    log = list(dask_worker.transfer_outgoing_log)[-n_sent:] if n_sent else []
    receivers: dict[str, dict[str, list[int]]] = {}
    for entry in log:
        sent = receivers.setdefault(
            str(entry["who"]), {"all": [0, 0], "epochs": [0, 0]}
        )
        # The log's times are the worker's clock plus its estimate of the
        # scheduler's offset; on one machine, the worker's own clock is the client's.
        started = entry["start"] - dask_worker.scheduler_delay
        within = epochs is not None and epochs[0] < started <= epochs[1]
        for bucket in ("all", "epochs") if within else ("all",):
            sent[bucket][0] += entry["total"]
            sent[bucket][1] += entry["compressed"]
    return {
        **_memory(),
        "sent_bytes": dask_worker.transfer_outgoing_bytes_total - mine["sent_bytes"],
        "sent_count": n_sent,
        "sent_logged": len(log) == n_sent,
        "sent_to": receivers,
    }


def finished(model: DaskMatrixFactorization) -> list:
    """The futures of the tasks that ``model.fit`` leaves running when it returns:
    each user block's record of its ratings (for ``to_local``), which the local fit
    builds within ``fit``. Waiting for them counts them as fit time, as they are in
    the local fit's."""
    return list(model.__dict__.get("_history") or [])


def distributed_run(
    dataset: str,
    max_iter: int,
    n_partitions: int,
    sample: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Fit DaskMatrixFactorization on a fresh cluster, the ratings made on its
    workers; with ``sample``, also predict its rows through ``to_local()``."""
    result: dict[str, Any] = {"max_iter": max_iter, "n_partitions": n_partitions}
    with (
        dask.config.set({"distributed.admin.low-level-log-length": LOG_LENGTH}),
        LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
        result["workers"] = workers
        result["memory_started"] = client.run(_memory)
        start = time.perf_counter()
        frame = ratings_collection(dataset, n_partitions).persist()
        wait(frame)
        result["data_s"] = time.perf_counter() - start
        holders = [h for hs in client.who_has(frame).values() for h in hs]
        result["partitions_held"] = {w: holders.count(w) for w in workers}
        result["memory_with_data"] = client.run(_memory)
        X, y = frame[["user", "item"]], frame["rating"]
        # Untimed: compiles numba's kernels on every worker, or loads them from the
        # cache (the blocks are pinned to the workers, one each).
        small = dd.from_pandas(frame.head(WARMUP_ROWS), npartitions=N_WORKERS)
        warm = DaskMatrixFactorization(**PARAMS, max_iter=1, client=client)
        wait(finished(warm.fit(small[["user", "item"]], small["rating"])))
        before = client.run(_start_fit)
        model = DaskMatrixFactorization(
            **PARAMS, max_iter=max_iter, verbose=1, client=client
        )
        clock = EpochClock()
        start = time.perf_counter()
        with contextlib.redirect_stdout(clock):
            model.fit(X, y)
        result["fit_returned_s"] = time.perf_counter() - start
        wait(finished(model))
        result["fit_s"] = time.perf_counter() - start
        result["n_iter"] = n_iter = int(model.n_iter_)
        result.update(clock.split(result["fit_s"], n_iter))
        result["epoch_lines"] = clock.getvalue().splitlines()
        # Transfers that started after the first epoch, up to the last one's end.
        epochs = (clock.ends[0], clock.ends[-1]) if result["epoch_s"] else None
        after = client.run(_end_fit, before, epochs)
        result["final_loss"] = float(model.loss_curve_[-1])
        result["memory_before_fit"] = before
        result["memory_after_fit"] = after
        result["fit_peak_rss_mib_per_worker"] = {
            w: after[w]["peak_rss_mib"] for w in workers
        }
        result["fit_peak_rss_mib"] = max(after[w]["peak_rss_mib"] for w in workers)
        result["sent_bytes"] = sum(after[w]["sent_bytes"] for w in workers)
        result["sent_logged"] = all(after[w]["sent_logged"] for w in workers)
        # The bytes written to the connections between workers, and Dask's own
        # count of them (its sizeof of the data sent, blind to arrays inside
        # dataclasses such as the pieces of ratings sent to the blocks).
        for bucket in ("all", "epochs"):
            between = [
                sent[bucket]
                for w in workers
                for who, sent in after[w]["sent_to"].items()
                if who in workers
            ]
            result[f"between_workers_{bucket}_bytes"] = sum(b for _, b in between)
            result[f"between_workers_{bucket}_dask_bytes"] = sum(b for b, _ in between)
        if epochs is not None:
            for unit in ("bytes", "dask_bytes"):
                total = result[f"between_workers_all_{unit}"]
                epoch = result[f"between_workers_epochs_{unit}"] / (n_iter - 1)
                result[f"epoch_{unit}"] = epoch
                result[f"setup_{unit}"] = total - n_iter * epoch
        if sample is not None:
            start = time.perf_counter()
            local = model.to_local()
            result["to_local_s"] = time.perf_counter() - start
            rows = pd.DataFrame({"user": sample["users"], "item": sample["items"]})
            difference = local.predict(rows) - sample["prediction"]
            result["max_abs_prediction_difference"] = float(np.max(np.abs(difference)))
            result["sample_rows"] = int(difference.shape[0])
    return result


# ------------------------------------------------------------------------ report


def status(ok: bool | None) -> str:
    return "n/a" if ok is None else "OK" if ok else "MISSED"


def mib(n_bytes: float | None) -> str:
    return "n/a" if n_bytes is None else f"{n_bytes / 2**20:.1f}"


def number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def checks(row: dict[str, Any]) -> list[tuple[bool | None, str]]:
    """The targets, as (passed or None when a number is missing, text)."""
    local, dist, spark = row["local"], row["distributed"], row.get("spark") or {}
    time_ratio = ratio(dist.get("fit_s"), local.get("fit_s"))
    memory_share = ratio(dist.get("fit_peak_rss_mib"), local.get("fit_peak_rss_mib"))
    spark_ratio = ratio(dist.get("fit_s"), spark.get("fit_s"))
    spark_text = (
        f"Spark ALS {number(spark.get('fit_s'))} s"
        if "fit_s" in spark
        else f"Spark ALS: {spark.get('error', 'not run')}"
    )
    return [
        (
            None if time_ratio is None else time_ratio <= MAX_TIME_RATIO,
            f"distributed fit {number(dist.get('fit_s'))} s is "
            f"{number(time_ratio)}x the local fit's {number(local.get('fit_s'))} s "
            f"(target <= {MAX_TIME_RATIO}x)",
        ),
        (
            None if memory_share is None else memory_share <= MAX_MEMORY_SHARE,
            f"distributed peak RSS per worker "
            f"{number(dist.get('fit_peak_rss_mib'), 0)} MiB is "
            f"{number(None if memory_share is None else 100 * memory_share, 0)}% of "
            f"the local fit's {number(local.get('fit_peak_rss_mib'), 0)} MiB "
            f"(target <= {100 * MAX_MEMORY_SHARE:.0f}%)",
        ),
        (
            None if spark_ratio is None else spark_ratio < 1,
            f"distributed fit {number(dist.get('fit_s'))} s against {spark_text} "
            "(target: faster)",
        ),
    ]


LOCAL = "local MatrixFactorization(n_jobs=2)"
DISTRIBUTED = f"DaskMatrixFactorization, {N_WORKERS} workers x 1 thread"
SPARK = "Spark ALS, local[2]"


def summary_rows(dataset: str, row: dict[str, Any]) -> list[str]:
    """The rows of ``dataset`` in the summary table: one per contender."""
    local, dist, spark = row["local"], row["distributed"], row.get("spark")
    predicted = local.get("predicted_traffic", {}).get("bytes_per_epoch")
    lines = []
    if "error" in local:
        lines.append(f"| {dataset} | {LOCAL} | FAILED: {local['error']} |||||")
    else:
        lines.append(
            f"| {dataset} | {LOCAL} | {local['fit_s']:.2f} "
            f"| {number(local.get('epoch_s'))} | {number(local.get('setup_s'))} "
            f"| {local['fit_peak_rss_mib']:.0f} | |"
        )
    if "error" in dist:
        lines.append(f"| {dataset} | {DISTRIBUTED} | FAILED: {dist['error']} |||||")
    else:
        peaks = " / ".join(
            f"{p:.0f}" for p in dist["fit_peak_rss_mib_per_worker"].values()
        )
        lines.append(
            f"| {dataset} | {DISTRIBUTED} | {dist['fit_s']:.2f} "
            f"| {number(dist.get('epoch_s'))} | {number(dist.get('setup_s'))} "
            f"| {peaks} | {mib(dist.get('epoch_bytes'))} ({mib(predicted)}) |"
        )
    if spark is None:
        lines.append(f"| {dataset} | {SPARK} | not run (--peers none) |||||")
    elif "error" in spark:
        lines.append(f"| {dataset} | {SPARK} | FAILED: {spark['error']} |||||")
    else:
        lines.append(
            f"| {dataset} | {SPARK} | {spark['fit_s']:.2f} "
            f"| {spark['fit_s'] / row['max_iter']:.2f} | "
            f"| {spark['peak_rss_mib']:.0f} (driver + JVM) | |"
        )
    return lines


def dataset_markdown(dataset: str, row: dict[str, Any]) -> list[str]:
    """The details of ``dataset``: settings, workers' memory, traffic, agreement
    with the local fit, and the checks of the targets."""
    local, dist, spark = row["local"], row["distributed"], row.get("spark")
    lines = [f"## {dataset}", ""]
    if "n_ratings" in local:
        lines.append(
            f"{local['n_ratings']:,} ratings, {local['n_users']:,} users x "
            f"{local['n_items']:,} items. Local: {local['n_iter']} epochs, RSS "
            f"{local['rss_before_fit_mib']:.0f} MiB before the fit (data loaded), "
            f"final loss {local['final_loss']:.6f}."
        )
    if spark is not None and "settings" in spark:
        lines.append(
            f"Spark: `{spark['settings']}` (no biases), data frame cached in "
            f"{spark['prepare_s']:.1f} s before the fit."
        )
    if "error" not in dist:
        full = dist
        lines += [
            f"Distributed: {full['n_iter']} epochs, final loss "
            f"{full['final_loss']:.6f}; {full['n_partitions']} partitions made on "
            f"the workers in {full['data_s']:.1f} s; fit returned after "
            f"{full['fit_returned_s']:.2f} s, its last tasks (the users' rating "
            f"records) done at {full['fit_s']:.2f} s.",
            "",
            "Workers' memory (MiB):",
            "",
            "| worker | partitions | RSS at start | RSS with data "
            "| RSS before fit | peak during fit | peak - before | RSS after fit "
            "| ru_maxrss after fit |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n, worker in enumerate(full["workers"]):
            before = full["memory_before_fit"][worker]
            after = full["memory_after_fit"][worker]
            lines.append(
                f"| {n} | {full['partitions_held'][worker]} "
                f"| {full['memory_started'][worker]['rss_mib']:.0f} "
                f"| {full['memory_with_data'][worker]['rss_mib']:.0f} "
                f"| {before['rss_mib']:.0f} | {after['peak_rss_mib']:.0f} "
                f"| {after['peak_rss_mib'] - before['rss_mib']:.0f} "
                f"| {after['rss_mib']:.0f} | {after['ru_maxrss_mib']:.0f} |"
            )
        predicted = local.get("predicted_traffic", {})
        measured = dist.get("epoch_bytes")
        lines += [
            "",
            "Bytes between workers (MiB; written to the workers' connections, the "
            "client's gathers not counted; Dask's own count, the sizeof of the data "
            "sent, in brackets):",
            "",
            "| per epoch measured | per epoch predicted | measured / predicted "
            f"| setup | whole fit of {row['max_iter']} epochs |",
            "|---|---|---|---|---|",
            f"| {mib(measured)} ({mib(dist.get('epoch_dask_bytes'))}) "
            f"| {mib(predicted.get('bytes_per_epoch'))} "
            f"| {number(ratio(measured, predicted.get('bytes_per_epoch')), 4)} "
            f"| {mib(dist.get('setup_bytes'))} ({mib(dist.get('setup_dask_bytes'))}) "
            f"| {mib(full['between_workers_all_bytes'])} "
            f"({mib(full['between_workers_all_dask_bytes'])}) |",
            "",
        ]
        for side, half in predicted.get("half_steps", {}).items():
            lines.append(
                f"- predicted {side} half-step: {half['blocks']} blocks, "
                f"{half['rows_received']:,} rows received, "
                f"{half['rows_received_from_other_workers']:,} of them from the "
                f"other worker, {half['bytes_per_row']} bytes each "
                f"({'float32' if half['float32'] else 'float64'} vectors): "
                f"{mib(half['bytes'])} MiB"
            )
        if not full["sent_logged"]:
            lines.append(
                "- some transfers fell out of the workers' logs: the bytes between "
                "workers are incomplete (raise LOG_LENGTH)"
            )
        difference = dist.get("max_abs_prediction_difference")
        lines += [
            "",
            f"Largest |to_local().predict - local predict| over "
            f"{full.get('sample_rows', 0):,} sampled training rows: "
            + ("n/a" if difference is None else f"{difference:.2e}")
            + f"; final losses differ by "
            f"{abs(full['final_loss'] - local.get('final_loss', np.nan)):.2e}.",
        ]
    target_note = "" if dataset == TARGET_DATASET else f" (set for {TARGET_DATASET})"
    lines += ["", f"Checks{target_note}:", ""]
    lines += [f"- {status(ok)}: {text}" for ok, text in checks(row)]
    return lines + [""]


def markdown(report: dict[str, Any]) -> str:
    settings = ", ".join(f"{k}={v!r}" for k, v in PARAMS.items())
    lines = [
        "# Distributed benchmark",
        "",
        header_line(report["environment"]),
        "",
        "<!-- table -->",
        "",
        "| data set | contender | fit s | s per epoch | setup s "
        "| peak RSS during fit MiB | MiB between workers per epoch (predicted) |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset, row in report["results"].items():
        lines += summary_rows(dataset, row)
    lines += [
        "",
        f"All fits: `{settings}, max_iter={report['max_iter']}`. Local: "
        "`MatrixFactorization(n_jobs=2)` in a fresh process. Distributed: "
        "`DaskMatrixFactorization` on a fresh "
        f"`LocalCluster(n_workers={N_WORKERS}, threads_per_worker=1, "
        "processes=True)`, the ratings made and persisted on the workers before "
        "the fit; its fit s includes the tasks still running when `fit` returns; "
        "the peak RSS of each worker. s per epoch: epochs 2 to the last, timed by "
        "the lines that `verbose=1` prints at the end of each; setup s: the rest of "
        "the fit (validation, indexing, blocks, first epoch's wait for them, the "
        "model brought back). Bytes per epoch: those of the transfers between "
        "workers that started in that span. Peak RSS: the peak resident memory of "
        "the process during the fit (VmHWM, reset just before it), its data "
        f"included. Both fit once, untimed, on {WARMUP_ROWS:,} rows first (numba). "
        "Spark: `ALS` at the same rank and "
        "iterations, regParam = alpha * std(y) (peers.py's translation), no biases, "
        "`local[2]`, in a fresh process; fit s / epochs, and the peak RSS of its "
        "whole run (the Python driver, data included, plus the JVM). Predicted "
        "bytes: the rows of the other side that each block's ratings name, from the "
        "blocks of the other worker, at 8 bytes of bias and 4 or 8 per factor.",
        "",
        "<!-- /table -->",
        "",
    ]
    for dataset, row in report["results"].items():
        lines += dataset_markdown(dataset, row)
    lines.append(f"Total run time {report['total_s']:.0f} s.")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- main


def run_dataset(dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{dataset}", flush=True)
    print("  local MatrixFactorization(n_jobs=2) ...", flush=True)
    local = run_worker("local", dataset, args.max_iter, args.timeout)
    sample = local.pop("sample", None)
    if "error" in local:
        print(f"    FAILED: {local['error']}", flush=True)
    else:
        print(
            f"    fit {local['fit_s']:.2f} s, peak RSS {local['fit_peak_rss_mib']:.0f} "
            "MiB",
            flush=True,
        )
    print("  DaskMatrixFactorization ...", flush=True)
    try:
        distributed = distributed_run(dataset, args.max_iter, args.partitions, sample)
    except Exception as error:  # keep the other contenders' numbers
        traceback.print_exc()
        distributed = {"error": f"{type(error).__name__}: {error}"}
        print(f"    FAILED: {distributed['error']}", flush=True)
    else:
        peaks = distributed["fit_peak_rss_mib_per_worker"].values()
        print(
            f"    fit {distributed['fit_s']:.2f} s, peak RSS per worker "
            + ", ".join(f"{peak:.0f}" for peak in peaks)
            + f" MiB, {mib(distributed.get('epoch_bytes'))} MiB between workers "
            "per epoch",
            flush=True,
        )
    spark = None
    if args.peers == "spark":
        print("  Spark ALS ...", flush=True)
        spark = run_worker("spark", dataset, args.max_iter, args.timeout)
        if "error" in spark:
            print(f"    FAILED: {spark['error']}", flush=True)
        else:
            print(f"    fit {spark['fit_s']:.2f} s", flush=True)
    return {
        "max_iter": args.max_iter,
        "local": local,
        "distributed": distributed,
        "spark": spark,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        "--sizes",
        nargs="+",
        type=parse_dataset,
        default=[parse_dataset(d) for d in DATASETS],
        help="ml-1m and/or planted sizes such as 1M or 25M (default: ml-1m 25M)",
    )
    parser.add_argument("--max-iter", type=int, default=MAX_ITER)
    parser.add_argument("--partitions", type=int, default=PARTITIONS)
    parser.add_argument("--peers", choices=("spark", "none"), default="spark")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--local-worker", help=argparse.SUPPRESS)
    parser.add_argument("--spark-worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.local_worker or args.spark_worker:
        if args.local_worker:
            sample = args.worker_out.with_suffix(".npz")
            result = local_worker(args.local_worker, args.max_iter, sample)
        else:
            result = spark_worker(args.spark_worker, args.max_iter)
        write_atomic(args.worker_out, json.dumps(result) + "\n")
        return
    start = time.perf_counter()
    env = environment(PACKAGES)
    load_start = os.getloadavg()[0]
    results = {dataset: run_dataset(dataset, args) for dataset in args.datasets}
    report = {
        "environment": env,
        "settings": {**PARAMS, "max_iter": args.max_iter},
        "n_workers": N_WORKERS,
        "results": results,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "total_s": time.perf_counter() - start,
        "max_iter": args.max_iter,
    }
    text = markdown(report)
    write_report(args.out, report, text)
    print(text)


if __name__ == "__main__":
    main()
