"""Command-line work on rating files: fit, predict, recommend, evaluate.

Tables are CSV (or Parquet, with pyarrow installed); the model is saved with joblib.
Errors name the file, the column and the line.
"""

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from . import MatrixFactorization
from .metrics import catalogue_metrics


class InputError(ValueError):
    """A problem with a file the user passed, said in terms of that file."""


def read_table(path: str) -> pd.DataFrame:
    """The table in ``path``: Parquet for ``.parquet`` files, else CSV."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: no such file.")
    try:
        if file.suffix == ".parquet":
            return pd.read_parquet(file)
        return pd.read_csv(file)
    except ImportError as error:
        raise InputError(f"{path}: reading Parquet needs pyarrow ({error}).") from None
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable table ({error}).") from None


def _line(position: int) -> int:
    # The header is line 1, so the row at position 0 is on line 2.
    return position + 2


def columns_of(table: pd.DataFrame, path: str, names: list[str]) -> pd.DataFrame:
    """The columns ``names`` of ``table``, or an error naming the missing one."""
    for name in names:
        if name not in table.columns:
            raise InputError(
                f"{path}: no column {name!r}; its columns are {list(table.columns)}."
            )
    return table[names]


def numbers_of(table: pd.DataFrame, path: str, name: str) -> np.ndarray:
    """Column ``name`` as floats, or an error naming the first line that is not one."""
    values = pd.to_numeric(table[name], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}, column {name!r}, line {_line(position)}: "
            f"{table[name].iloc[position]!r} is not a finite number."
        )
    return values.to_numpy(dtype=float)


def _rows(args, table: pd.DataFrame, path: str) -> pd.DataFrame:
    """The id and feature columns of ``table``, checked."""
    features = [c for c in (args.feature_columns or "").split(",") if c]
    X = columns_of(table, path, [args.user_column, args.item_column, *features])
    for name in features:
        X = X.assign(**{name: numbers_of(table, path, name)})
    for name in (args.user_column, args.item_column):
        missing = X[name].isna().to_numpy()
        if missing.any():
            position = int(np.flatnonzero(missing)[0])
            raise InputError(
                f"{path}, column {name!r}, line {_line(position)}: the id is missing."
            )
    return X


def _ratings(args, path: str) -> tuple[pd.DataFrame, np.ndarray]:
    """``(X, y)`` of the ratings table in ``path``."""
    table = read_table(path)
    X = _rows(args, table, path)
    columns_of(table, path, [args.rating_column])
    return X, numbers_of(table, path, args.rating_column)


def _load_model(path: str):
    if not Path(path).is_file():
        raise InputError(f"{path}: no such model file; make one with the fit command.")
    return joblib.load(path)


def fit(args) -> dict:
    """Fit a MatrixFactorization to the ratings file and save it."""
    X, y = _ratings(args, args.ratings)
    params = json.loads(args.params) if args.params else {}
    if not isinstance(params, dict):
        raise InputError(f"--params must be a JSON object; got {args.params!r}.")
    model = MatrixFactorization(**params).fit(X, y)
    joblib.dump(model, args.model)
    return {
        "ratings": len(y),
        "users": len(model.users_),
        "items": len(model.items_),
        "model": args.model,
    }


def predict(args) -> dict:
    """Predict the rating of each row of a file; write the rows with a prediction."""
    model = _load_model(args.model)
    X = _rows(args, read_table(args.rows), args.rows)
    out = X.assign(prediction=model.predict(X))
    out.to_csv(args.out, index=False)
    return {"rows": len(out), "out": args.out}


def recommend(args) -> dict:
    """Write each user's best items: user, rank, item, score."""
    model = _load_model(args.model)
    users = [u for u in args.users.split(",") if u] if args.users else None
    if args.users_file:
        users = columns_of(
            read_table(args.users_file), args.users_file, [args.user_column]
        )[args.user_column].tolist()
    if not users:
        raise InputError("Pass the users with --users or --users-file.")
    # Ids typed on the command line are strings: read as numbers when the model's are.
    if model.users_.dtype.kind in "iuf":
        try:
            users = pd.to_numeric(pd.Series(users)).tolist()
        except ValueError:
            pass  # not all numbers: unknown users, recommended the popular items
    items, scores = model.recommend(users, n=args.n)
    ranks = np.tile(np.arange(1, args.n + 1), len(users))
    out = pd.DataFrame(
        {
            "user": np.repeat(np.asarray(users, dtype=object), args.n),
            "rank": ranks,
            "item": items.ravel(),
            "score": scores.ravel(),
        }
    )
    out.to_csv(args.out, index=False)
    return {"users": len(users), "out": args.out}


def evaluate(args) -> dict:
    """RMSE and MAE of the predictions of a test file, and full-catalogue top-N
    metrics of the model's recommendations for its users."""
    model = _load_model(args.model)
    X, y = _ratings(args, args.rows)
    error = model.predict(X) - y
    result = {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
    }
    ranking = catalogue_metrics(model, X, y, k=args.k, threshold=args.threshold)
    result.update({f"{name}@{args.k}": value for name, value in ranking.items()})
    return result
