"""Fixed costs: a fit of 1K, 10K and 100K ratings split into phases, a grid search of
small fits, and the first fit in a fresh environment.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/overhead.py \
        [--old ../baseline] [--out benchmarks/results/overhead]

Searches do hundreds of fits of the same small data, so the fixed cost of a fit
(validation, id encoding, indexes, solver setup, the fitted state) matters as much as
its epochs. Each case runs in a fresh process (after an untimed warm-up fit, so no
compilation is counted) and reports the best of ``REPEATS`` fits, split by timing the
library's own phases: each phase's time excludes the phases nested in it (the
default ``alpha="auto"`` runs the training phases inside its search). ``--old``
points at another checkout, imported through PYTHONPATH, for a before/after pair.

Data: ``make_ratings`` at MovieLens-like proportions (``_common.synthetic_shape``).

The grid search is ``GridSearchCV`` over ``SEARCH_GRID`` (12 settings) with 5 shuffled
folds on ML-100K, RMSE, ``SEARCH_REPEATS`` times per build, the builds taking turns,
each search in its own process; the median time is reported, and the builds' mean
test scores are compared. The first fit runs in a fresh process whose numba cache
directory is empty: the import and the first default fit of 2,000 ratings of ML-100K
(``_common.first_fit``), then the same in a second fresh process that finds the cache
warm. A third fresh process fits with a new cache that holds only what an editable
install compiles (``sklearn_mf._kernels._precompile``, run as the install runs it and
timed: ``_common.precompile``), as in a new environment set up by the README's
install command.
"""

from __future__ import annotations

import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    WARMUP_ROWS,
    builds_note,
    comparison_arguments,
    first_fit,
    header_line,
    load_dataset,
    md_table,
    precompile,
    run_comparison,
    run_in_build,
    synthetic_shape,
)

DEFAULT_OUT = RESULTS / "overhead"
SIZES = (1_000, 10_000, 100_000)
REPEATS = 7
# Grid searches per build; the builds take turns, since this machine's speed drifts
# over the minutes a search takes.
SEARCH_REPEATS = 3
MODELS: dict[str, dict[str, Any]] = {
    "default": {},
    "alpha=0.1": {"alpha": 0.1},
    "sgd": {"solver": "sgd", "alpha": 0.02, "max_iter": 20, "tol": None},
}
FIRST_FIT_TIMES = ("wall_s", "import_s", "fit_s")
SEARCH_GRID = {"n_components": [16, 32, 64], "alpha": [0.04, 0.08, 0.12, 0.16]}


class PhaseTimer:
    """Exclusive wall time per phase: a phase entered inside another is charged to
    itself alone, and paused in the enclosing one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list] = []  # [name, start of the current stretch]

    def wrap(self, owner: Any, attribute: str, phase: str) -> None:
        function = getattr(owner, attribute)

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if self._stack:
                outer = self._stack[-1]
                self._charge(outer[0], now - outer[1])
            self._stack.append([phase, now])
            try:
                return function(*args, **kwargs)
            finally:
                now = time.perf_counter()
                name, start = self._stack.pop()
                self._charge(name, now - start)
                if self._stack:
                    self._stack[-1][1] = now

        setattr(owner, attribute, timed)

    def _charge(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


def _instrument(timer: PhaseTimer) -> Callable[..., Any]:
    """Wrap the library's phases; return the estimator class."""
    from sklearn_mf import MatrixFactorization, _base, _mf_training, _training_set
    from sklearn_mf._ratings import RatingData
    from sklearn_mf._solvers import _als, _sgd

    phases = [
        (_base.BaseFactorization, "_validate_fit_input", "validation"),
        (_mf_training.MFTraining, "_choose_alpha", "alpha search (other)"),
        (_training_set.TrainingSet, "__init__", "training set"),
        (_training_set.TrainingSet, "rating_data", "rating indexes"),
        (_mf_training.MFTraining, "_initial_model", "initial model"),
        (_als.ALSSolver, "__init__", "solver setup"),
        (_sgd.SGDSolver, "__init__", "solver setup"),
        (_als.ALSSolver, "epoch", "epochs"),
        (_sgd.SGDSolver, "epoch", "epochs"),
        (_mf_training.MFTraining, "_fitted_state", "fitted state"),
        (_base.BaseFactorization, "_install", "install"),
    ]
    for owner, attribute, phase in phases:
        timer.wrap(owner, attribute, phase)
    # The alternating solvers' indexes are built on first use, inside the epochs.
    for index in ("by_user", "by_item"):
        timer.wrap(RatingData.__dict__[index], "func", "rating indexes")
    return MatrixFactorization


def _search() -> dict[str, Any]:
    from sklearn.model_selection import GridSearchCV, KFold

    from sklearn_mf import MatrixFactorization

    X, y = load_dataset("ml-100k")
    search = GridSearchCV(
        MatrixFactorization(random_state=0),
        SEARCH_GRID,
        cv=KFold(5, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )
    MatrixFactorization(random_state=0).fit(X.iloc[:2000], y.iloc[:2000])
    start = time.perf_counter()
    search.fit(X, y)
    return {
        "total_s": time.perf_counter() - start,
        "scores": search.cv_results_["mean_test_score"].tolist(),
        "best": search.best_params_,
    }


def _worker(model: str, n_ratings: int) -> dict[str, Any]:
    from sklearn_mf.datasets import make_ratings

    timer = PhaseTimer()
    estimator = _instrument(timer)
    n_users, n_items = synthetic_shape(n_ratings)
    X, y, _ = make_ratings(
        n_users=n_users, n_items=n_items, n_ratings=n_ratings, random_state=0
    )
    params = {"random_state": 0, **MODELS[model]}
    estimator(**params).fit(X, y)  # compilation, caches
    best: dict[str, Any] | None = None
    for _ in range(REPEATS):
        timer.seconds = {}
        start = time.perf_counter()
        estimator(**params).fit(X, y)
        total = time.perf_counter() - start
        if best is None or total < best["total_s"]:
            phases = dict(timer.seconds)
            phases["other"] = total - sum(phases.values())
            best = {"total_s": total, "phases": phases}
    return best


def _measure(build: Path, case: str, argument: str) -> dict[str, Any]:
    return run_in_build(__file__, build, case, argument)


def measure(builds: dict[str, Path]) -> dict[str, Any]:
    rows = []
    for model in MODELS:
        for n_ratings in SIZES:
            for name, build in builds.items():
                result = _measure(build, model, str(n_ratings))
                rows.append(
                    {"model": model, "ratings": n_ratings, "build": name, **result}
                )
    searches: dict[str, list[dict[str, Any]]] = {name: [] for name in builds}
    for _ in range(SEARCH_REPEATS):
        for name, build in builds.items():
            searches[name].append(_measure(build, "search", "-"))
    search = {
        name: {
            **runs[-1],
            "total_s": statistics.median(run["total_s"] for run in runs),
            "total_s_runs": [run["total_s"] for run in runs],
        }
        for name, runs in searches.items()
    }
    first_fits: dict[str, dict[str, Any]] = {}
    for name, build in builds.items():
        with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
            first_fits[name] = {
                state: first_fit({"random_state": 0}, cache, build)
                for state in ("empty cache", "warm cache")
            }
        with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
            seconds = precompile(cache, build)
            if seconds is not None:
                first_fits[name]["compiled at install"] = {
                    **first_fit({"random_state": 0}, cache, build),
                    "precompile_s": seconds,
                }
    return {"rows": rows, "search": search, "first_fit": first_fits}


def report_text(report: dict[str, Any]) -> str:
    rows = report["rows"]
    phases = sorted({p for row in rows for p in row["phases"]}, key=_phase_order)
    lines = [
        "# Fixed costs (issue 17)",
        "",
        header_line(report["environment"]),
        "",
        "## A fit split into phases",
        "",
        "Milliseconds, best of "
        f"{REPEATS} fits; each phase excludes the phases nested in it.",
        "",
        "| model | ratings | build | total | " + " | ".join(phases) + " |",
        "|---|---:|---|---:|" + "---:|" * len(phases),
    ]
    for row in rows:
        cells = [f"{1e3 * row['phases'].get(p, 0.0):.1f}" for p in phases]
        lines.append(
            f"| {row['model']} | {row['ratings']:,} | {row['build']} | "
            f"{1e3 * row['total_s']:.1f} | " + " | ".join(cells) + " |"
        )
    lines += ["", "## Grid search: 12 settings x 5 folds on ML-100K", ""]
    lines += [
        "| build | seconds (median) | all searches s | best parameters | best RMSE |",
        "|---|---:|---|---|---:|",
    ]
    search = report["search"]
    for name, result in search.items():
        all_runs = ", ".join(f"{seconds:.1f}" for seconds in result["total_s_runs"])
        lines.append(
            f"| {name} | {result['total_s']:.1f} | {all_runs} | {result['best']} | "
            f"{-max(result['scores']):.4f} |"
        )
    if len(search) == 2:
        old, new = search.values()
        difference = max(
            abs(a - b) for a, b in zip(old["scores"], new["scores"], strict=True)
        )
        lines += [
            "",
            f"Speed-up {old['total_s'] / new['total_s']:.2f}x; largest difference "
            f"between the builds' mean test scores {difference:.2e}. Grid: "
            f"{SEARCH_GRID}.",
        ]
    lines += [
        "",
        "## First fit in a fresh environment (default model, "
        f"{WARMUP_ROWS:,} ratings of ML-100K)",
        "",
        *md_table(
            [
                "build",
                "numba cache",
                "wall s",
                "import s",
                "first fit s",
                "compiled at install s",
            ],
            [
                [
                    name,
                    cache,
                    *(f"{result[key]:.2f}" for key in FIRST_FIT_TIMES),
                    f"{result['precompile_s']:.2f}" if "precompile_s" in result else "",
                ]
                for name, cases in report["first_fit"].items()
                for cache, result in cases.items()
            ],
            text=["numba cache"],
        ),
    ]
    lines += [
        "",
        builds_note(report)
        + " Models: "
        + "; ".join(
            f"{name}: MatrixFactorization(random_state=0"
            + "".join(f", {k}={v!r}" for k, v in params.items())
            + ")"
            for name, params in MODELS.items()
        )
        + ".",
        "",
        f"Total run time {report['total_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


_PHASE_ORDER = (
    "validation",
    "alpha search (other)",
    "training set",
    "rating indexes",
    "initial model",
    "solver setup",
    "epochs",
    "fitted state",
    "install",
    "other",
)


def _phase_order(phase: str) -> int:
    return _PHASE_ORDER.index(phase) if phase in _PHASE_ORDER else len(_PHASE_ORDER)


def main(argv: Sequence[str] | None = None) -> None:
    args = comparison_arguments(__doc__.splitlines()[0], DEFAULT_OUT, argv)
    if args.worker:
        case, argument = args.worker
        result = _search() if case == "search" else _worker(case, int(argument))
        print(json.dumps(result))
        return
    run_comparison(args, measure, report_text, ["sklearn-mf", "numpy", "numba"])


if __name__ == "__main__":
    main()
