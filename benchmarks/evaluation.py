"""Full-catalogue evaluation: the default model against popularity, per-user holdout.

For each data set, ``PerUserHoldout(test_size=10, random_state=0)`` holds out 10 of
each user's ratings (the ML-1M copy here has no timestamps: at random); the model is
fitted on the rest, and every test user's top 10 among all the items it did not rate
in training is scored against its held-out items (all of them relevant, and those
rated 4 or more) with :func:`sklearn_mf.metrics.catalogue_metrics`. Popularity
recommends the most-rated training items a user has not rated.

    python benchmarks/evaluation.py                 # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import environment, header_line, load_dataset, write_report

from sklearn_mf import MatrixFactorization
from sklearn_mf.metrics import catalogue_metrics
from sklearn_mf.model_selection import PerUserHoldout

DEFAULT_OUT = Path(__file__).parent / "results" / "evaluation"
K = 10


class Popularity:
    """Recommends the most-rated training items each user has not rated."""

    def fit(self, X: pd.DataFrame, y=None) -> Popularity:
        counts = X.iloc[:, 1].value_counts(sort=False)
        self.items_ = counts.index.to_numpy()
        self._ranked = self.items_[np.argsort(-counts.to_numpy(), kind="stable")]
        self._seen = X.groupby(X.columns[0])[X.columns[1]].agg(set).to_dict()
        return self

    def recommend(self, users, n: int = 10):
        rows = []
        for user in users:
            seen = self._seen.get(user, set())
            rows.append(
                [item for item in self._ranked[: n + len(seen)] if item not in seen][:n]
            )
        return np.array(rows, dtype=self.items_.dtype), np.zeros((len(rows), n))


def evaluate(dataset: str) -> list[dict[str, Any]]:
    X, y = load_dataset(dataset)
    train, test = next(PerUserHoldout(test_size=10, random_state=0).split(X))
    rows = []
    for name, model in (
        ("ours default", MatrixFactorization(random_state=0)),
        ("popularity", Popularity()),
    ):
        start = time.perf_counter()
        model.fit(X.iloc[train], y.iloc[train])
        fit_s = time.perf_counter() - start
        for threshold in (None, 4.0):
            start = time.perf_counter()
            scores = catalogue_metrics(
                model, X.iloc[test], y.iloc[test], k=K, threshold=threshold
            )
            rows.append(
                {
                    "dataset": dataset,
                    "model": name,
                    "relevant": "all held out" if threshold is None else "rated >= 4",
                    "fit_s": fit_s,
                    "eval_s": time.perf_counter() - start,
                    **scores,
                }
            )
            print(rows[-1], flush=True)
    return rows


def report_text(report: dict[str, Any]) -> str:
    lines = [
        "# Full-catalogue evaluation",
        "",
        header_line(report["environment"]),
        "",
        f"PerUserHoldout(test_size=10, random_state=0); top {K} among each test user's "
        "unseen training items; metrics averaged per user.",
        "",
        "| dataset | model | relevant | users | NDCG@10 | MAP@10 | precision@10 | "
        "recall@10 | MRR | hit rate | coverage | fit s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['relevant']} | {r['n_users']} | "
            f"{r['ndcg']:.4f} | {r['map']:.4f} | {r['precision']:.4f} | "
            f"{r['recall']:.4f} | {r['mrr']:.4f} | {r['hit_rate']:.3f} | "
            f"{r['coverage']:.3f} | {r['fit_s']:.2f} |"
        )
    lines += ["", f"Total run time {report['total_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-100k,ml-1m")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = [row for name in args.datasets.split(",") for row in evaluate(name)]
    report = {
        "rows": rows,
        "environment": environment(["numba", "numpy", "scikit-learn"]),
        "total_s": time.perf_counter() - start,
    }
    write_report(args.out, report, report_text(report))
    print(report_text(report))


if __name__ == "__main__":
    main()
