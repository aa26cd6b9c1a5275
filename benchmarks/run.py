"""Peer benchmark: sklearn_mf against Surprise, LensKit, myfm, Spark ALS and cornac.

Every model runs in its own subprocess (fresh interpreter, its own peak RSS, no JVM
left behind) on the same splits; the parent collects the results and writes
<out>.json and <out>.md. See benchmarks/README.md for the protocol.

    SKLEARN_MF_DATA=/path/to/data python benchmarks/run.py \
        --dataset ml-100k|ml-1m|synthetic-N [--peers all|surprise,lenskit,...] \
        [--out benchmarks/results/<name>] [--timeout 900]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peers
from _common import (
    RESULTS,
    environment,
    header_line,
    load_dataset,
    maxrss_mib,
    protocol,
    ratio,
    run_json_worker,
    run_split,
    silence_expected_warnings,
    splits_for,
    summarize,
    synthetic_size,
    warm_up,
    write_atomic,
    write_report,
)

from sklearn_mf import BayesianMatrixFactorization

PEERS = ("surprise", "lenskit", "myfm", "spark", "cornac")
PACKAGES = (
    "sklearn-mf",
    "scikit-surprise",
    "lenskit",
    "torch",
    "myfm",
    "pyspark",
    "cornac",
    "numpy",
    "numba",
    "scikit-learn",
)

# ------------------------------------------------------------------------ models


@dataclass(frozen=True)
class Spec:
    """One row of the table."""

    name: str
    peer: str  # "ours" or one of PEERS
    settings: str  # exactly what the row ran, for the report
    build: Callable[[str], peers.Adapter]  # dataset -> adapter
    # Our model whose fit time is the denominator of this row's speed ratio.
    compare_to: str | None = None


OURS_DEFAULT = "ours default"
OURS_SGD_SURPRISE = "ours sgd @ Surprise SVD"
OURS_SGD_SVDPP = "ours sgd + implicit @ Surprise SVDpp"
OURS_ALS_LENSKIT = "ours als @ LensKit"
OURS_ALS_SPARK = "ours als @ Spark ALS"
OURS_SGD_CORNAC = "ours sgd @ cornac MF"
OURS_TUNED = "ours tuned (CV)"
OURS_BAYES_DEFAULT = "ours bayesian default"
OURS_BAYES_MYFM = "ours bayesian @ myfm"

# What benchmarks/tune.py chose by cross-validation on training rows only (see
# results/tune.md): on ML-100K every outer fold chose the same setting. Other data
# sets get the ML-1M choice.
TUNED_PARAMS: dict[str, dict[str, Any]] = {
    "ml-100k": {
        "n_components": 128,
        "alpha": 0.12,
        "implicit_feedback": "both",
        "random_state": 0,
    },
    "ml-1m": {
        "n_components": 128,
        "alpha": 0.08,
        "implicit_feedback": "both",
        "random_state": 0,
    },
}

OUR_PARAMS: dict[str, dict[str, Any]] = {
    OURS_DEFAULT: {"random_state": 0},
    OURS_SGD_SURPRISE: peers.AT_SURPRISE_SVD,
    # Surprise SVDpp() defaults: 20 factors, 20 epochs, lr_all=0.007, reg_all=0.02,
    # init N(0, 0.1^2). Its reg_all also shrinks every y_j of a user at each of the
    # user's ratings, which is not a penalty of our objective; ours keeps its
    # default alpha_implicit (10 * alpha, per rating of the item).
    OURS_SGD_SVDPP: {
        **peers.AT_SURPRISE_SVD,
        "n_components": 20,
        "learning_rate": 0.007,
        "implicit_feedback": True,
    },
    # LensKit BiasedMFConfig defaults: embedding_size=50, epochs=10,
    # regularization=0.1, damping=5. Its row solve is (Q'Q + 0.1 * n_u * I), the
    # weighted-lambda penalty, which is exactly our per-rating alpha=0.1. Its biases
    # are damped means fixed before ALS, b = sum(residual) / (n + 5): a penalty of 5
    # per user/item, not per rating, which our objective cannot express; our
    # per-rating alpha_bias=a shrinks by n / (n (1 + a)), equal to LensKit's at
    # n = 5 / a, so alpha_bias=0.05 matches it at 100 ratings (about the median user
    # and item counts of ML-1M). Ours learns the biases jointly with the factors.
    # LensKit trains on all cores, so ours gets n_jobs=-1 too.
    OURS_ALS_LENSKIT: {
        "n_components": 50,
        "max_iter": 10,
        "tol": None,
        "alpha": 0.1,
        "alpha_bias": 0.05,
        "n_jobs": -1,
        "random_state": 0,
    },
    # Spark ALS: rank 50, maxIter=10, regParam=0.1 scaled by each row's rating count
    # (ALS-WR, our alpha), no biases; it runs on local[2], ours on both cores.
    OURS_ALS_SPARK: {
        "n_components": 50,
        "max_iter": 10,
        "tol": None,
        "alpha": 0.1,
        "fit_bias": False,
        "n_jobs": -1,
        "random_state": 0,
    },
    # cornac MF() defaults: k=10, max_iter=20, learning_rate=0.01, lambda_reg=0.02 on
    # factors and biases (per-rating SGD, our alpha), init N(0, 0.01^2). cornac runs
    # its epochs on every core when not seeded (lock-free, not reproducible) and on
    # one when seeded; ours is reproducible on any number of threads, so it gets
    # both cores, and both cornac variants are listed.
    OURS_SGD_CORNAC: {
        "solver": "sgd",
        "n_components": 10,
        "max_iter": 20,
        "tol": None,
        "learning_rate": 0.01,
        "alpha": 0.02,
        "alpha_bias": 0.02,
        "init_std": 0.01,
        "n_jobs": -1,
        "random_state": 0,
    },
}


def myfm_iterations(dataset: str) -> int:
    # 200 Gibbs samples on ML-100K and 100 on larger data, as in myfm's examples.
    return 200 if dataset == "ml-100k" else 100


def bayesian_at_myfm(dataset: str) -> dict[str, Any]:
    """myfm's settings: rank 10, its number of sweeps, implicit terms on both sides.
    myfm keeps every sweep; ours spends the first quarter of them on burn-in."""
    n_iter = myfm_iterations(dataset)
    return {
        "n_components": 10,
        "n_iter": n_iter,
        "burn_in": n_iter // 4,
        "implicit_feedback": "both",
        "random_state": 0,
    }


def bayesian_spec(
    name: str, params_for: Callable[[str], dict[str, Any]], settings: str
) -> Spec:
    return Spec(
        name=name,
        peer="ours",
        settings=settings,
        build=lambda dataset: peers.Adapter(
            peers.ours_model(name, params_for(dataset), BayesianMatrixFactorization)
        ),
    )


def ours_spec(name: str, peer_settings: str) -> Spec:
    """Our row ``name``; rows matched to a peer (``peer_settings``) give its
    settings in the peer's units."""
    params = OUR_PARAMS[name]
    peer_units = bool(peer_settings)
    text = ", ".join(f"{k}={v!r}" for k, v in params.items())
    note = peers.PEER_UNITS_NOTE if peer_units else ""
    return Spec(
        name=name,
        peer="ours",
        settings=f"MatrixFactorization({text}){peer_settings}{note}",
        build=lambda dataset: peers.Adapter(
            peers.ours_model(name, params, peer_units=peer_units)
        ),
    )


def tuned_spec() -> Spec:
    settings = "; ".join(
        f"{dataset}: MatrixFactorization("
        + ", ".join(f"{k}={v!r}" for k, v in params.items())
        + ")"
        for dataset, params in TUNED_PARAMS.items()
    )
    return Spec(
        name=OURS_TUNED,
        peer="ours",
        settings=f"{settings} (chosen by benchmarks/tune.py)",
        build=lambda dataset: peers.Adapter(
            peers.ours_model(
                OURS_TUNED, TUNED_PARAMS.get(dataset, TUNED_PARAMS["ml-1m"])
            )
        ),
    )


def specs() -> list[Spec]:
    """Every row, in run order: ours first, then each peer after its matched model."""
    return [
        ours_spec(OURS_DEFAULT, ""),
        tuned_spec(),
        bayesian_spec(
            OURS_BAYES_DEFAULT,
            lambda d: {"random_state": 0},
            "BayesianMatrixFactorization(random_state=0): 32 factors, 200 sweeps, "
            "burn_in 50, implicit_feedback='both'",
        ),
        ours_spec(OURS_SGD_SURPRISE, "; matches surprise SVD()"),
        Spec(
            "surprise BaselineOnly()",
            "surprise",
            "surprise.BaselineOnly() (ALS biases, reg_i=10, reg_u=15, 10 epochs)",
            lambda d: peers.surprise("surprise BaselineOnly()", "BaselineOnly"),
            OURS_DEFAULT,
        ),
        Spec(
            "surprise SVD()",
            "surprise",
            "surprise.SVD(random_state=0): 100 factors, 20 epochs, lr 0.005, reg 0.02",
            lambda d: peers.surprise("surprise SVD()", "SVD"),
            OURS_SGD_SURPRISE,
        ),
        ours_spec(OURS_SGD_SVDPP, "; matches surprise SVDpp()"),
        Spec(
            "surprise SVDpp()",
            "surprise",
            "surprise.SVDpp(random_state=0): 20 factors, 20 epochs, lr 0.007, "
            "reg 0.02 (its defaults)",
            lambda d: peers.surprise("surprise SVDpp()", "SVDpp"),
            OURS_SGD_SVDPP,
        ),
        ours_spec(OURS_ALS_LENSKIT, "; matches LensKit BiasedMF"),
        Spec(
            "lenskit BiasedMF (ALS)",
            "lenskit",
            "lenskit.als.BiasedMFScorer() defaults: embedding_size=50, epochs=10, "
            "regularization=0.1, damping=5; TrainingOptions(rng=0)",
            lambda d: peers.lenskit("lenskit BiasedMF (ALS)"),
            OURS_ALS_LENSKIT,
        ),
        bayesian_spec(
            OURS_BAYES_MYFM,
            bayesian_at_myfm,
            "BayesianMatrixFactorization(n_components=10, n_iter=200 (ML-100K) or "
            "100, burn_in=n_iter // 4, implicit_feedback='both', random_state=0); "
            "matches myfm r10 + implicit",
        ),
        Spec(
            "myfm Bayesian FM r10",
            "myfm",
            "myfm.MyFMRegressor(rank=10, random_seed=0), user and item one-hot "
            "groups; n_iter = n_kept_samples = 200 (ML-100K) or 100 (otherwise)",
            lambda d: peers.myfm_bayesian(
                "myfm Bayesian FM r10", myfm_iterations(d), implicit=False
            ),
            OURS_BAYES_MYFM,
        ),
        Spec(
            "myfm Bayesian FM r10 + implicit",
            "myfm",
            "as above, plus implicit features (items rated by the user, users who "
            "rated the item, from training rows, weights 1/sqrt(count)) as in myfm's "
            "MovieLens example",
            lambda d: peers.myfm_bayesian(
                "myfm Bayesian FM r10 + implicit", myfm_iterations(d), implicit=True
            ),
            OURS_BAYES_MYFM,
        ),
        ours_spec(OURS_ALS_SPARK, "; matches Spark ALS"),
        Spec(
            "spark ALS r50",
            "spark",
            "pyspark.ml.recommendation.ALS(rank=50, seed=0), defaults otherwise "
            "(maxIter=10, regParam=0.1); local[2], driver memory 4g, checkpoint dir "
            "set; NaN predictions (ids unseen in training) filled with the training "
            "mean",
            lambda d: peers.spark_als("spark ALS r50"),
            OURS_ALS_SPARK,
        ),
        ours_spec(OURS_SGD_CORNAC, "; matches cornac MF()"),
        Spec(
            "cornac MF()",
            "cornac",
            "cornac.models.MF(seed=0) defaults: k=10, max_iter=20, learning_rate=0.01,"
            " lambda_reg=0.02, use_bias=True",
            lambda d: peers.cornac_mf("cornac MF()"),
            OURS_SGD_CORNAC,
        ),
        Spec(
            "cornac MF(), all cores",
            "cornac",
            "cornac.models.MF(seed=None) defaults: as above, its epochs on every core "
            "(lock-free, not reproducible)",
            lambda d: peers.cornac_mf("cornac MF(), all cores", seed=None),
            OURS_SGD_CORNAC,
        ),
    ]


def selected(peer_names: Sequence[str]) -> list[Spec]:
    """Ours default, tuned and Bayesian default always; each other model of ours only when its peer
    runs."""
    chosen = [s for s in specs() if s.peer in peer_names]
    needed = {OURS_DEFAULT, OURS_TUNED, OURS_BAYES_DEFAULT} | {
        s.compare_to for s in chosen
    }
    ours = [s for s in specs() if s.peer == "ours" and s.name in needed]
    order = [s.name for s in specs()]
    return sorted(ours + chosen, key=lambda s: order.index(s.name))


# ------------------------------------------------------------------------ worker


def worker(name: str, dataset: str, out: Path) -> None:
    """Run one model on every split of ``dataset``; write its summary to ``out``."""
    silence_expected_warnings()
    spec = next(s for s in specs() if s.name == name)
    X, y = load_dataset(dataset)
    splits = splits_for(dataset, len(y))
    adapter = spec.build(dataset)
    # Not timed: compiles our numba kernels (or loads them from the cache), starts
    # Spark's JVM, imports what a peer imports lazily.
    warm_up([adapter.model], X, y)
    for value in adapter.extra.values():
        value.clear()
    runs = []
    for split_no, (train, test) in enumerate(splits):
        run = run_split(adapter.model, X.iloc[train], y.iloc[train], X.iloc[test])
        runs.append([run])
        print(
            f"  split {split_no}: {name:<34} fit {run.fit_s:7.2f} s  "
            f"predict {run.predict_s:6.2f} s",
            file=sys.stderr,
            flush=True,
        )
    summary = summarize(runs, y, splits)
    adapter.close()
    # The worker's own peak, plus the largest child it waited for (Spark's JVM,
    # which _stop_spark waits for); both live during the fit.
    summary["rss_self_mib"] = maxrss_mib(resource.RUSAGE_SELF)
    summary["rss_children_mib"] = maxrss_mib(resource.RUSAGE_CHILDREN)
    summary["peak_rss_mib"] = summary["rss_self_mib"] + summary["rss_children_mib"]
    summary["extra"] = adapter.extra
    write_atomic(out, json.dumps(summary) + "\n")


# ------------------------------------------------------------------------ parent


def run_in_subprocess(spec: Spec, dataset: str, timeout: float) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; on failure, say why instead of numbers."""

    def show_splits(proc, out) -> dict:
        for line in proc.stderr.splitlines():
            if line.startswith("  split"):
                print(line, flush=True)
        return {}

    return run_json_worker(
        [__file__, "--worker", spec.name, "--dataset", dataset], timeout, show_splits
    )


def run_all(
    chosen: Sequence[Spec], dataset: str, timeout: float, rounds: int = 1
) -> dict[str, Any]:
    """Run every model ``rounds`` times, the models taking turns within a round, so
    that a drift of the machine's speed touches every model alike."""
    runs: dict[str, list[dict[str, Any]]] = {spec.name: [] for spec in chosen}
    for round_no in range(rounds):
        for spec in chosen:
            of_rounds = f" (round {round_no + 1} of {rounds})" if rounds > 1 else ""
            print(f"{spec.name} ...{of_rounds}", flush=True)
            result = run_in_subprocess(spec, dataset, timeout)
            if "error" in result:
                print(f"  FAILED: {result['error']}", flush=True)
            runs[spec.name].append(result)
    results: dict[str, Any] = {}
    for spec in chosen:
        failed = [run for run in runs[spec.name] if "error" in run]
        results[spec.name] = {
            "peer": spec.peer,
            "settings": spec.settings,
            "compare_to": spec.compare_to,
            **(failed[0] if failed else _over_rounds(runs[spec.name])),
        }
    for name, model in results.items():
        ratios = []
        if model["compare_to"] in runs:
            # Each round's peer fit against our fit of the same round.
            pairs = zip(runs[name], runs[model["compare_to"]], strict=True)
            ratios = [ratio(peer.get("fit_s"), our.get("fit_s")) for peer, our in pairs]
        ratios = [r for r in ratios if r is not None]
        model["fit_ratio"] = statistics.median(ratios) if ratios else None
        model["fit_ratio_rounds"] = ratios
    return results


def _over_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's result over its rounds: the median fit time; everything else the
    first round's (every round fits the same model to the same rows)."""
    fit_s = [run["fit_s"] for run in rounds]
    return {**rounds[0], "fit_s": statistics.median(fit_s), "fit_s_rounds": fit_s}


# ----------------------------------------------------------------------- reports


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| model | RMSE | MAE | fit s | predict s | peak RSS MiB "
        "| peer fit s / ours fit s | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, m in results.items():
        if "error" in m:
            lines.append(f"| {name} | – | – | – | – | – | – | not run: {m['error']} |")
            continue
        speed = ""
        if m["fit_ratio"]:
            spread = m.get("fit_ratio_rounds", [])
            within = (
                f" ({min(spread):.1f}-{max(spread):.1f})" if len(spread) > 1 else ""
            )
            speed = f"{m['fit_ratio']:.1f}x{within} vs {m['compare_to']}"
        lines.append(
            f"| {name} | {m['rmse']:.4f} | {m['mae']:.4f} | {m['fit_s']:.2f} "
            f"| {m['predict_s']:.2f} | {m['peak_rss_mib']:.0f} | {speed} "
            f"| {note(m)} |"
        )
    return lines


def note(m: dict[str, Any]) -> str:
    unseen = m.get("extra", {}).get("unseen_nan")
    if unseen is None:
        return ""
    return f"{sum(unseen)} NaN predictions (unseen ids) filled with the training mean"


def markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    settings = [f"- **{name}**: {m['settings']}" for name, m in results.items()]
    lines = [
        f"# Peer benchmark: {report['dataset']}",
        "",
        header_line(report["environment"]),
        "",
        f"{report['n_ratings']:,} ratings; {report['protocol']}.",
        "",
        *table(results),
        "",
        "fit s is the fit call only (each library's conversion of the training rows "
        "is `prepare_s` in the JSON); predict s includes converting the test rows. "
        "Each model ran in its own process after one untimed warm-up fit on 2,000 "
        "rows (numba compilation, JVM start). Peak RSS is the worker process's "
        "maximum RSS plus that of its largest child (Spark's JVM). Speed ratios "
        "compare fits measured in this run; above 1 means ours is faster.",
        *rounds_note(report.get("rounds", 1)),
        "",
        "Settings:",
        "",
        *settings,
        "",
        f"Load average (1 min) at start {report['load_average'][0]:.2f}, at end "
        f"{report['load_average'][1]:.2f}. Total run time {report['total_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def rounds_note(rounds: int) -> list[str]:
    if rounds == 1:
        return []
    return [
        "",
        f"The models took turns over {rounds} rounds, a fresh process per model and "
        "round: fit s is the median over the rounds, the speed ratio the median of "
        "the rounds' ratios (their range in brackets), each round's peer fit against "
        "our fit of that round; the other columns are the first round's.",
    ]


def default_out(dataset: str) -> Path:
    return RESULTS / f"peers-{dataset}"


# -------------------------------------------------------------------------- main


def peer_list(text: str) -> list[str]:
    names = list(PEERS) if text == "all" else [p.strip() for p in text.split(",")]
    unknown = set(names) - set(PEERS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peers {sorted(unknown)}")
    return names


def dataset_name(text: str) -> str:
    if text in ("ml-100k", "ml-1m") or (synthetic_size(text) or 0) > 0:
        return text
    raise argparse.ArgumentTypeError("expected ml-100k, ml-1m or synthetic-N")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=dataset_name, required=True)
    parser.add_argument("--peers", type=peer_list, default=list(PEERS))
    parser.add_argument(
        "--out", type=Path, help="output path without suffix (<out>.json, <out>.md)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds allowed per model"
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=1,
        help="run every model this many times, taking turns (fit s: the median)",
    )
    # Internal: the parent starts itself with these to run one model.
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args.dataset, args.worker_out)
        return
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    env = environment(PACKAGES)
    n_ratings = len(load_dataset(args.dataset)[1])
    print(f"{args.dataset}: {n_ratings:,} ratings", flush=True)
    results = run_all(selected(args.peers), args.dataset, args.timeout, args.rounds)
    report = {
        "dataset": args.dataset,
        "rounds": args.rounds,
        "protocol": protocol(args.dataset),
        "n_ratings": n_ratings,
        "environment": env,
        "results": results,
        "load_average": [load_start, os.getloadavg()[0]],
        "total_s": time.perf_counter() - start,
    }
    out = args.out or default_out(args.dataset)
    text = markdown(report)
    write_report(out, report, text)
    print()
    print(text)


if __name__ == "__main__":
    main()
