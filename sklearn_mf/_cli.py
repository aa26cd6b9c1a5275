"""Command line: ``python -m sklearn_mf demo | fit | predict | recommend | evaluate``."""

import argparse
import json
import sys
import time
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from . import MatrixFactorization, _commands
from .datasets import fetch_movielens, make_ratings

_GRID = {"n_components": [32, 64], "alpha": [0.05, 0.09]}


def _load(variant: str, download: bool):
    """Return (X, y, description), falling back to planted data when MovieLens is out of reach."""
    try:
        X, y = fetch_movielens(variant, download_if_missing=download, return_X_y=True)
        return X, y, f"MovieLens {variant}: {len(y):,} ratings"
    except OSError as exc:
        print(f"MovieLens {variant} could not be reached ({exc}).")
        print("Running on planted low-rank data from make_ratings instead.\n")
        X, y, _ = make_ratings(
            n_users=943, n_items=1682, n_ratings=100_000, noise=0.9, random_state=0
        )
        return X, y, f"make_ratings: {len(y):,} ratings, noise 0.9"


def demo(
    variant: str = "100k", *, download: bool = True, n_jobs: int | None = None
) -> dict:
    """Grid-search rank and regularisation with 5-fold CV and print the results."""
    X, y, description = _load(variant, download)
    print(f"Data: {description}")
    print(f"Grid: {_GRID}, 5-fold CV (KFold, shuffle, random_state=0)\n")
    search = GridSearchCV(
        MatrixFactorization(random_state=0, n_jobs=n_jobs),
        _GRID,
        cv=KFold(5, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame(
        {
            "n_components": results["param_n_components"],
            "alpha": results["param_alpha"],
            "RMSE": -results["mean_test_score"],
            "std": results["std_test_score"],
            "fit s": results["mean_fit_time"],
        }
    ).sort_values("RMSE")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\nBest parameters: {search.best_params_}")
    print(f"Best 5-fold RMSE: {-search.best_score_:.4f}")
    print(f"Total time: {time.perf_counter() - start:.1f} s")
    return {"best_params": search.best_params_, "best_rmse": float(-search.best_score_)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sklearn_mf")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="5-fold grid search on MovieLens")
    run.add_argument(
        "--variant", default="100k", choices=["100k", "1m", "latest-small"]
    )
    run.add_argument(
        "--no-download",
        action="store_true",
        help="only use local copies ($SKLEARN_MF_DATA or the cache)",
    )
    run.add_argument("--n-jobs", type=int, default=None, help="threads per fit")
    _add_file_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.variant, download=not args.no_download, n_jobs=args.n_jobs)
        return 0
    try:
        result = getattr(_commands, args.command)(args)
    except (ValueError, TypeError) as error:  # InputError, or the estimator's own
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def _columns(command: argparse.ArgumentParser, rating: bool) -> None:
    command.add_argument(
        "--user-column", default="user", help="user ids (default: user)"
    )
    command.add_argument(
        "--item-column", default="item", help="item ids (default: item)"
    )
    if rating:
        command.add_argument(
            "--rating-column", default="rating", help="ratings (default: rating)"
        )
    command.add_argument(
        "--feature-columns",
        default="",
        help="comma-separated numeric side-feature columns (default: none)",
    )


def _add_file_commands(commands) -> None:
    files = "CSV, or Parquet for .parquet files (with pyarrow)"
    fit = commands.add_parser(
        "fit", help="fit a model to a ratings file and save it (joblib)"
    )
    fit.add_argument("ratings", help=f"the ratings table: {files}")
    fit.add_argument("--model", required=True, help="where to save the fitted model")
    fit.add_argument(
        "--params",
        default="",
        help="MatrixFactorization parameters as JSON, e.g. '{\"n_components\": 32}'",
    )
    _columns(fit, rating=True)
    predict = commands.add_parser(
        "predict", help="predict the rating of each row of a file"
    )
    predict.add_argument("model", help="a model saved by fit")
    predict.add_argument("rows", help=f"the (user, item) rows: {files}")
    predict.add_argument("--out", required=True, help="CSV to write, with a prediction")
    _columns(predict, rating=False)
    recommend = commands.add_parser("recommend", help="write each user's best items")
    recommend.add_argument("model", help="a model saved by fit")
    recommend.add_argument("--users", default="", help="comma-separated user ids")
    recommend.add_argument("--users-file", help=f"a table with a user column: {files}")
    recommend.add_argument("--user-column", default="user", help="(default: user)")
    recommend.add_argument("--n", type=int, default=10, help="items per user")
    recommend.add_argument("--out", required=True, help="CSV: user, rank, item, score")
    evaluate = commands.add_parser(
        "evaluate", help="RMSE, MAE and top-N metrics of a model on a test file"
    )
    evaluate.add_argument("model", help="a model saved by fit")
    evaluate.add_argument("rows", help=f"the test ratings: {files}")
    evaluate.add_argument("--k", type=int, default=10, help="length of the top-N lists")
    evaluate.add_argument(
        "--threshold", type=float, default=None, help="least rating of a relevant item"
    )
    _columns(evaluate, rating=True)
