"""Threads under load: n_jobs=2 against n_jobs=1 on a quiet machine and with a core busy.

Every measurement runs in a fresh process, so that each one starts numba's OpenMP
thread pool with its own settings. Two builds of the package can be compared (``--old``
points at another checkout, imported through PYTHONPATH): the default here is this
checkout only. With a core busy (one process spinning for the whole block), OpenMP
threads that spin while they wait take CPU time from the threads doing the work; the
library lets them wait passively unless the user chose a wait policy.

Also measured: ``GridSearchCV(n_jobs=2)`` over ``MatrixFactorization(n_jobs=-1)`` with
``NUMBA_NUM_THREADS=2`` exported, where each joblib worker must use its share of the
CPUs (one thread here), not the exported pool size.

    python benchmarks/threads.py                          # about 3 minutes on 2 cores
    python benchmarks/threads.py --old ../baseline        # and an older checkout
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import (
    best_of,
    builds_note,
    comparison_arguments,
    header_line,
    run_comparison,
    run_in_build,
    threads_at_any_size,
)

DEFAULT_OUT = Path(__file__).parent / "results" / "threads"
CASES = ("cg fit", "sgd fit", "bayesian fit", "predict 1k rows x 200")
REPEATS = 3
# n_jobs=2 / n_jobs=1 with a core busy, at most: "never much slower".
MAX_LOADED_RATIO = 1.3


def _work(case: str, n_jobs: int) -> float:
    """Best time of REPEATS runs of ``case`` with ``n_jobs`` (in this process)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization
    from sklearn_mf.datasets import make_ratings

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, _ = make_ratings(n_users=900, n_items=1600, n_ratings=80_000, random_state=0)
    common = {"n_jobs": n_jobs, "random_state": 0}
    if case == "cg fit":
        model = MatrixFactorization(alpha=0.08, max_iter=10, tol=None, **common)
    elif case == "sgd fit":
        model = MatrixFactorization(
            solver="sgd", alpha=0.05, max_iter=10, tol=None, **common
        )
    elif case == "bayesian fit":
        model = BayesianMatrixFactorization(
            n_components=8, n_iter=20, burn_in=5, **common
        )
    else:
        model = MatrixFactorization(alpha=0.08, max_iter=3, tol=None, **common).fit(
            X, y
        )
    # Compiles (or loads) the kernels before the timing, both builds of each.
    for threads in (contextlib.nullcontext(), threads_at_any_size()):
        with threads:
            if case.endswith("fit"):
                model.fit(X[:2000], y[:2000])
            else:
                model.predict(X[:10])

    def run() -> None:
        if case.endswith("fit"):
            model.fit(X, y)
        else:
            for _ in range(200):
                model.predict(X[:1000])

    return best_of(REPEATS, run)


def _grid_search() -> float:
    """Seconds of a small GridSearchCV(n_jobs=2) over MatrixFactorization(n_jobs=-1)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from sklearn_mf import MatrixFactorization
    from sklearn_mf.datasets import make_ratings

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, _ = make_ratings(n_users=900, n_items=1600, n_ratings=80_000, random_state=0)
    search = GridSearchCV(
        MatrixFactorization(max_iter=10, tol=None, n_jobs=-1, random_state=0),
        {"alpha": [0.05, 0.1], "n_components": [16, 32]},
        cv=3,
        n_jobs=2,
    )
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start


def _measure(build: Path, env_extra: dict[str, str], *args: str) -> float:
    return run_in_build(__file__, build, *args, env=env_extra)["seconds"]


class _BusyCore:
    """One process spinning on a core for as long as the block runs."""

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", "while True: pass"], cwd="/"
        )
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def measure(builds: dict[str, Path]) -> dict[str, Any]:
    rows = []
    for load in ("quiet", "one core busy"):
        for name, build in builds.items():
            for case in CASES:
                seconds = {}
                for n_jobs in (1, 2):
                    if load == "quiet":
                        seconds[n_jobs] = _measure(build, {}, case, str(n_jobs))
                    else:
                        with _BusyCore():
                            seconds[n_jobs] = _measure(build, {}, case, str(n_jobs))
                row = {
                    "load": load,
                    "build": name,
                    "case": case,
                    "n_jobs=1 s": seconds[1],
                    "n_jobs=2 s": seconds[2],
                    "ratio": seconds[2] / seconds[1],
                }
                print(
                    f"{load:14s} {name:5s} {case:22s} 1: {seconds[1]:.3f} s  "
                    f"2: {seconds[2]:.3f} s  ratio {row['ratio']:.2f}",
                    flush=True,
                )
                rows.append(row)
    grid = []
    for name, build in builds.items():
        seconds = _measure(build, {"NUMBA_NUM_THREADS": "2"}, "grid")
        grid.append({"build": name, "seconds": seconds})
        print(f"GridSearchCV, NUMBA_NUM_THREADS=2 exported, {name}: {seconds:.2f} s")
    return {"rows": rows, "grid_search": grid}


def report_text(report: dict[str, Any]) -> str:
    lines = [
        "# Threads under load",
        "",
        header_line(report["environment"]),
        "",
        "Best of "
        f"{REPEATS} runs, each case in a fresh process; 'one core busy' runs a "
        "spinning process on the other core meanwhile. Data: make_ratings, 900 users "
        "x 1,600 items, 80,000 ratings. " + builds_note(report),
        "",
        "| load | build | case | n_jobs=1 s | n_jobs=2 s | 2 / 1 |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['load']} | {row['build']} | {row['case']} | {row['n_jobs=1 s']:.3f} "
            f"| {row['n_jobs=2 s']:.3f} | {row['ratio']:.2f} |"
        )
    lines += [
        "",
        "GridSearchCV(n_jobs=2) over MatrixFactorization(n_jobs=-1), 4 settings x 3 "
        "folds, with NUMBA_NUM_THREADS=2 exported:",
        "",
    ]
    lines += [f"- {g['build']}: {g['seconds']:.2f} s" for g in report["grid_search"]]
    lines += ["", "## Checks", ""]
    for row in report["rows"]:
        if row["load"] != "quiet" and row["build"] == "new":
            verdict = "PASS" if row["ratio"] <= MAX_LOADED_RATIO else "FAIL"
            lines.append(
                f"- {verdict}: {row['case']}, one core busy: n_jobs=2 / n_jobs=1 = "
                f"{row['ratio']:.2f} <= {MAX_LOADED_RATIO}"
            )
    lines += ["", f"Total run time {report['total_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    args = comparison_arguments(__doc__.splitlines()[0], DEFAULT_OUT, argv)
    if args.worker:
        case, *rest = args.worker
        seconds = _grid_search() if case == "grid" else _work(case, int(rest[0]))
        print(json.dumps({"seconds": seconds}))
        return
    run_comparison(args, measure, report_text, ["numba", "numpy", "scikit-learn"])


if __name__ == "__main__":
    main()
