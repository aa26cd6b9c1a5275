"""The distributed fit's cost at sizes this machine cannot run, from the formulas of
the docs' "Scaling out" page and the constants measured by distributed.py.

    python benchmarks/projection.py [--results benchmarks/results/distributed.json]

Reads the 25M run of ``distributed.py`` for the two measured constants: the compute
time of one thread per rating and epoch (the distributed fit's seconds per epoch
times its threads over its ratings) and its setup time per rating and thread. The
rest is stated below as assumptions and printed with the table (markdown, for
``docs/scaling_out.rst``).
"""

import argparse
import json
import math
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "distributed.json"

# Assumptions, stated in the output.
RANK = 64
THREADS_PER_WORKER = 16
BANDWIDTH = 1.25e9  # bytes/s into each worker: 10 Gbit/s Ethernet
TASK_OVERHEAD = 1e-3  # seconds of scheduler time per task (Dask's order of magnitude)
EPOCHS = 10
FLOAT32_BYTES = 16 << 20  # see gathers_in_float32
SHAPES = {  # ratings: (users, items)
    1_000_000_000: (20_000_000, 1_000_000),
    10_000_000_000: (100_000_000, 5_000_000),
}
WORKERS = (16, 64)


def row_bytes(n_sender_rows: int) -> int:
    """Bytes of one row sent: an 8-byte bias, the vector in float32 when the sender
    side's float64 matrix exceeds 16 MiB."""
    return 8 + (4 if n_sender_rows * RANK * 8 > FLOAT32_BYTES else 8) * RANK


def rows_named(n_ratings: int, n_rows: int, n_workers: int) -> float:
    """Distinct rows of one side named by one worker's block of the other side,
    ratings spread at random."""
    return n_rows * (1 - math.exp(-n_ratings / (n_workers * n_rows)))


def project(n_ratings: int, users: int, items: int, workers: int, measured: dict):
    threads = workers * THREADS_PER_WORKER
    compute = n_ratings * measured["thread_s_per_rating_epoch"] / threads
    received = (1 - 1 / workers) * (
        rows_named(n_ratings, items, workers) * row_bytes(items)
        + rows_named(n_ratings, users, workers) * row_bytes(users)
    )
    network = received / BANDWIDTH
    tasks = 2 * (workers * workers + 3 * workers)
    overhead = tasks * TASK_OVERHEAD
    epoch = compute + network + overhead
    setup = n_ratings * measured["thread_s_per_rating_setup"] / threads
    # Each rating crosses the network about twice in the setup (to its user block
    # and to its item block), at 16 bytes (two codes and its rating).
    setup += 2 * 16 * n_ratings * (1 - 1 / workers) / workers / BANDWIDTH
    ratings_memory = 2 * n_ratings / workers * 12  # a code and a target, per side
    rows_memory = 2 * (users + items) / workers * 8 * (RANK + 1)
    received_memory = 2 * max(
        rows_named(n_ratings, items, workers) * row_bytes(items),
        rows_named(n_ratings, users, workers) * row_bytes(users),
    )
    return {
        "ratings": n_ratings,
        "users": users,
        "items": items,
        "workers": workers,
        "compute_s": compute,
        "network_s": network,
        "overhead_s": overhead,
        "epoch_s": epoch,
        "setup_s": setup,
        "fit_s": setup + EPOCHS * epoch,
        "received_gb_per_worker_epoch": received / 1e9,
        "memory_gb_per_worker": (ratings_memory + rows_memory + received_memory) / 1e9,
    }


def measured_constants(path: Path) -> dict:
    report = json.loads(path.read_text())
    run = report["results"]["planted-25M"]["distributed"]
    threads = report["n_workers"]  # one thread each
    ratings = report["results"]["planted-25M"]["local"]["n_ratings"]
    return {
        "thread_s_per_rating_epoch": run["epoch_s"] * threads / ratings,
        "thread_s_per_rating_setup": run["setup_s"] * threads / ratings,
    }


def markdown(rows: list, measured: dict) -> str:
    lines = [
        "| ratings | users x items | workers | s per epoch (compute + network + "
        "tasks) | setup s | fit s (10 epochs) | GB received per worker and epoch "
        "| GB per worker |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['ratings']:.0e} | {r['users']:.0e} x {r['items']:.0e} "
            f"| {r['workers']} | {r['epoch_s']:.1f} ({r['compute_s']:.1f} + "
            f"{r['network_s']:.1f} + {r['overhead_s']:.1f}) | {r['setup_s']:.0f} "
            f"| {r['fit_s']:.0f} | {r['received_gb_per_worker_epoch']:.1f} "
            f"| {r['memory_gb_per_worker']:.0f} |"
        )
    lines += [
        "",
        f"Measured here (25M ratings, 2 one-thread workers): "
        f"{measured['thread_s_per_rating_epoch'] * 1e6:.2f} thread-microseconds per "
        f"rating and epoch, {measured['thread_s_per_rating_setup'] * 1e6:.2f} per "
        "rating for the setup. Assumed: rank "
        f"{RANK}, {THREADS_PER_WORKER} threads per worker that scale linearly, "
        f"{BANDWIDTH * 8 / 1e9:.0f} Gbit/s into each worker, no overlap of network "
        f"and compute, {TASK_OVERHEAD * 1e3:.0f} ms of scheduler time per task, "
        "ratings spread at random over users and items, no sample weights or "
        "features.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    measured = measured_constants(args.results)
    rows = [
        project(n, users, items, workers, measured)
        for n, (users, items) in SHAPES.items()
        for workers in WORKERS
    ]
    print(markdown(rows, measured))


if __name__ == "__main__":
    main()
