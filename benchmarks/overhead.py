"""Where a small fit's time goes: a fit of 1K, 10K and 100K ratings split into phases.

    python benchmarks/overhead.py [--old ../baseline] [--out benchmarks/results/overhead]

Searches do hundreds of fits of the same small data, so the fixed cost of a fit
(validation, id encoding, indexes, solver setup, the fitted state) matters as much as
its epochs. Each case runs in a fresh process (after an untimed warm-up fit, so no
compilation is counted) and reports the best of ``REPEATS`` fits, split by timing the
library's own phases: each phase's time excludes the phases nested in it (the
default ``alpha="auto"`` runs the training phases inside its search). ``--old``
points at another checkout, imported through PYTHONPATH, for a before/after pair.

Data: ``make_ratings`` at MovieLens-like proportions (``_common.synthetic_shape``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import RESULTS, environment, header_line, synthetic_shape, write_report

DEFAULT_OUT = RESULTS / "overhead"
SIZES = (1_000, 10_000, 100_000)
REPEATS = 7
MODELS: dict[str, dict[str, Any]] = {
    "default": {},
    "alpha=0.1": {"alpha": 0.1},
    "sgd": {"solver": "sgd", "alpha": 0.02, "max_iter": 20, "tol": None},
}


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
    return MatrixFactorization


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


def _measure(build: Path, model: str, n_ratings: int) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(build)
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            model,
            str(n_ratings),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(builds: dict[str, Path]) -> list[dict[str, Any]]:
    rows = []
    for model in MODELS:
        for n_ratings in SIZES:
            for name, build in builds.items():
                result = _measure(build, model, n_ratings)
                rows.append(
                    {"model": model, "ratings": n_ratings, "build": name, **result}
                )
    return rows


def report_text(report: dict[str, Any]) -> str:
    rows = report["rows"]
    phases = sorted({p for row in rows for p in row["phases"]}, key=_phase_order)
    lines = [
        "# Fixed cost of a fit (issue 17)",
        "",
        header_line(report["environment"]),
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
    lines += [
        "",
        "A build is this checkout (new) or the one given by --old. Models: "
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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="another checkout to compare with")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        model, n_ratings = args.worker
        print(json.dumps(_worker(model, int(n_ratings))))
        return
    start = time.perf_counter()
    builds = {"new": Path(__file__).resolve().parents[1]}
    if args.old is not None:
        builds = {"old": args.old.resolve(), **builds}
    report = {"rows": measure(builds)}
    report["environment"] = environment(["sklearn-mf", "numpy", "numba"])
    report["total_s"] = time.perf_counter() - start
    write_report(args.out, report, report_text(report))
    print(report_text(report))


if __name__ == "__main__":
    main()
