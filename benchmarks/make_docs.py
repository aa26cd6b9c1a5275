"""Write the docs' benchmark page from the peer benchmark results.

Reads benchmarks/results/peers-*.json (written by run.py), and zoo.json (written by
zoo.py) when it exists, and writes docs/benchmarks.rst (a table per dataset, then the
section "Any rating data") and docs/_static/benchmarks.png (RMSE against fit time).
Both files are committed: the docs build only includes them, so it needs neither
matplotlib nor the peers.

    python benchmarks/make_docs.py [--results benchmarks/results] [--docs docs]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS, write_atomic

DATASET_TITLES = {"ml-100k": "MovieLens 100K", "ml-1m": "MovieLens 1M"}
IMAGE = Path("_static") / "benchmarks.png"
ZOO = "zoo.json"


def dataset_order(report: dict[str, Any]) -> tuple[int, int]:
    """MovieLens first (100K, 1M), then synthetic data by size."""
    order = list(DATASET_TITLES)
    if report["dataset"] in order:
        return 0, order.index(report["dataset"])
    return 1, report["n_ratings"]


def load(results: Path) -> dict[str, dict[str, Any]]:
    reports = [json.loads(p.read_text()) for p in results.glob("peers-*.json")]
    return {r["dataset"]: r for r in sorted(reports, key=dataset_order)}


def title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


# ------------------------------------------------------------------------- table


def cells(name: str, m: dict[str, Any]) -> list[str]:
    if "error" in m:
        return [name, "–", "–", "–", "–", "–", f"not run: {m['error']}"]
    speed = f"{m['fit_ratio']:.1f}x vs {m['compare_to']}" if m.get("fit_ratio") else ""
    unseen = m.get("extra", {}).get("unseen_nan")
    if unseen is not None:
        speed += f"; {sum(unseen)} NaN filled with the mean"
    return [
        name,
        f"{m['rmse']:.4f}",
        f"{m['mae']:.4f}",
        f"{m['fit_s']:.2f}",
        f"{m['predict_s']:.2f}",
        f"{m['peak_rss_mib']:.0f}",
        speed,
    ]


def list_table(rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines.append(f"   * - {row[0]}")
        # An empty cell is a bare "-" (no trailing blank).
        lines.extend(f"     - {cell}".rstrip() for cell in row[1:])
    return lines


def section(report: dict[str, Any]) -> list[str]:
    heading = title(report["dataset"])
    env = report["environment"]
    header = ["model", "RMSE", "MAE", "fit s", "predict s", "peak RSS MiB", "speed"]
    rows = [header] + [cells(n, m) for n, m in report["results"].items()]
    settings = [f"- **{n}**: {m['settings']}" for n, m in report["results"].items()]
    return [
        heading,
        "-" * len(heading),
        "",
        f"{report['n_ratings']:,} ratings; {report['protocol']}. Run on "
        f"{env['date'][:10]}, {env['cpu_count']} cores, commit "
        f"``{env['git']['commit'][:10]}``"
        + (" plus uncommitted changes" if env["git"]["dirty"] else "")
        + f", total {report['total_s']:.0f} s.",
        "",
        *list_table(rows),
        "",
        "Settings of each row:",
        "",
        *settings,
        "",
    ]


# ------------------------------------------------------------- any rating data


def load_zoo(results: Path) -> dict[str, Any] | None:
    path = results / ZOO
    return json.loads(path.read_text()) if path.exists() else None


def zoo_runs(report: dict[str, Any]) -> str:
    """Dates and commits of the runs the rows of zoo.json come from."""
    cited = sorted(
        {m["run"] for models in report["results"].values() for m in models.values()}
    )
    envs = [report["runs"][i]["environment"] for i in cited]
    dates = sorted({env["date"][:10] for env in envs})
    commits = sorted(
        {
            f"``{env['git']['commit'][:10]}``"
            + (" plus uncommitted changes" if env["git"]["dirty"] else "")
            for env in envs
        }
    )
    return (
        f"Run on {' to '.join(dict.fromkeys([dates[0], dates[-1]]))}, "
        f"{envs[0]['cpu_count']} cores, commit {', '.join(commits)}"
    )


def zoo_pivot(report: dict[str, Any], cell) -> list[list[str]]:
    """One row per data set, one column per model; ``cell(m)`` fills a cell."""
    results = report["results"]
    models = list(dict.fromkeys(m for ms in results.values() for m in ms))
    rows = [["data set", *models]]
    for dataset, ms in results.items():
        rows.append(
            [
                dataset,
                *(
                    ("failed" if "error" in ms[m] else cell(ms[m])) if m in ms else ""
                    for m in models
                ),
            ]
        )
    return rows


def zoo_section(report: dict[str, Any]) -> list[str]:
    heading = "Any rating data"
    sizes = [["data set", "ratings", "users", "items", "scale", "std", "split"]]
    for name, d in report["datasets"].items():
        sample = f" (random {d['max_ratings']:,} rows)" if d["max_ratings"] else ""
        sizes.append(
            [
                name + sample,
                f"{d['n_ratings']:,}",
                f"{d['n_users']:,}",
                f"{d['n_items']:,}",
                f"{d['rating_min']:g} to {d['rating_max']:g}",
                f"{d['std']:.3f}",
                "90/10" if d["n_splits"] == 1 else f"{d['n_splits']}-fold",
            ]
        )
    return [
        heading,
        "-" * len(heading),
        "",
        "The library's defaults on every rating data set at hand, beyond MovieLens: "
        "other scales (0.5 to 5 stars, 0 to 10, continuous -10 to 10) and far "
        "sparser data (a median of one rating per user and item on CiaoDVD). "
        "``ml-100k-1to100`` is MovieLens 100K rescaled linearly to 1..100: a "
        "scale-free model scores the same on it as on ML-100K once the RMSE is "
        "divided by the spread of the ratings. *5-fold* is ``KFold(5, "
        "shuffle=True, random_state=0)``, *90/10* ``train_test_split(test_size=0.1, "
        "random_state=0)``; RMSE is pooled over all test rows. *MF tuned* is tuned "
        "by ``GridSearchCV`` on each outer fold's training rows only. The script is "
        "``benchmarks/zoo.py``. " + zoo_runs(report) + ".",
        "",
        *list_table(sizes),
        "",
        "RMSE, and in brackets RMSE divided by the standard deviation of the test "
        "ratings (1 is what predicting their mean scores, on any scale):",
        "",
        *list_table(
            zoo_pivot(report, lambda m: f"{m['rmse']:.4f} ({m['rmse_over_std']:.3f})")
        ),
        "",
        "Fit seconds per fold (one thread; *MF tuned* is the whole search, with "
        "``n_jobs=-1``):",
        "",
        *list_table(zoo_pivot(report, lambda m: f"{m['fit_s_mean']:.2f}")),
        "",
        "Checks:",
        "",
        *(f"- {c['status']}: {c['text']}" for c in report["checks"]),
        "",
        "Settings of each row:",
        "",
        *(f"- **{s['model']}**: {s['settings']}" for s in report["settings"]),
        "",
    ]


# -------------------------------------------------------------------------- page


def page(reports: dict[str, dict[str, Any]], zoo: dict[str, Any] | None = None) -> str:
    versions = next(iter(reports.values()))["environment"]["versions"]
    lines = [
        ".. This file is generated by benchmarks/make_docs.py; do not edit by hand.",
        "",
        "Benchmarks",
        "==========",
        "",
        "``sklearn_mf`` against the libraries people use for rating prediction, "
        "each with its documented defaults, and ours at each peer's settings where "
        "they share a model. Every model is trained and scored on the same splits, "
        "in its own process, on a shared 2-core machine; *speed* is the peer's fit "
        "time divided by that of the named model of ours, measured in the same run "
        "(above 1: ours is faster). The script is ``benchmarks/run.py``; "
        "``benchmarks/README.md`` gives the protocol.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
        "",
        f".. image:: {IMAGE.as_posix()}",
        "   :alt: RMSE against fit time, one marker per model",
        "",
    ]
    for report in reports.values():
        lines.extend(section(report))
    if zoo is not None:
        lines.extend(zoo_section(zoo))
    return "\n".join(lines)


# -------------------------------------------------------------------------- plot


PEER_COLORS = {
    "ours": "C0",
    "surprise": "C1",
    "lenskit": "C2",
    "myfm": "C3",
    "spark": "C4",
    "cornac": "C5",
}
MARKERS = "osDPX^v<>*hpd8H"


def plot(reports: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    # Colour says which library, the marker which model: the same in every panel.
    names = list(dict.fromkeys(n for r in reports.values() for n in r["results"]))
    fig, axes = plt.subplots(
        1, len(reports), figsize=(5 * len(reports) + 3, 4.5), squeeze=False
    )
    handles = {}
    for ax, report in zip(axes[0], reports.values(), strict=True):
        for name, m in report["results"].items():
            if "error" in m:
                continue
            handles[name] = ax.scatter(
                m["fit_s"],
                m["rmse"],
                marker=MARKERS[names.index(name) % len(MARKERS)],
                s=70,
                color=PEER_COLORS.get(m["peer"], "grey"),
                edgecolors="black",
                linewidths=0.6,
                label=name,
            )
        ax.set_xscale("log")
        ax.set_xlabel("fit seconds (log scale)")
        ax.set_ylabel("RMSE (lower is better)")
        protocol = report["protocol"].split(";")[0]
        ax.set_title(f"{title(report['dataset'])}\n{protocol}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    fig.legend(
        handles.values(), handles.keys(), loc="center right", fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, 0, 1 - 2.6 / fig.get_figwidth(), 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    reports = load(args.results)
    if not reports:
        raise SystemExit(f"no peers-*.json in {args.results}: run benchmarks/run.py")
    write_atomic(args.docs / "benchmarks.rst", page(reports, load_zoo(args.results)))
    plot(reports, args.docs / IMAGE)
    print(f"wrote {args.docs / 'benchmarks.rst'} and {args.docs / IMAGE}")


if __name__ == "__main__":
    main()
