"""One adapter per library: how to prepare, fit and predict each benchmarked model.

Every adapter returns a _common.Model (three callables the runner times apart) inside
an Adapter that can also clean up (Spark's JVM) and report extra counts (Spark's
unseen items). Peer libraries are imported inside their adapter, so a missing peer
fails only its own rows.

ID handling: X has the user id in column 0 and the item id in column 1 (MovieLens:
integers). Where a peer wants its own indices, the conversion happens in ``prepare``
(training rows, not timed as fit) or ``predict`` (test rows, timed as predict).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from _common import Model

from sklearn_mf import MatrixFactorization


@dataclass
class Adapter:
    model: Model
    close: Callable[[], None] = lambda: None
    # Counts a peer reports about its predictions (reset after the warm-up).
    extra: dict[str, Any] = field(default_factory=dict)


def _frame(X: pd.DataFrame, y: pd.Series | None = None) -> pd.DataFrame:
    columns = {"user": X.iloc[:, 0].to_numpy(), "item": X.iloc[:, 1].to_numpy()}
    if y is not None:
        columns["rating"] = y.to_numpy(dtype=float)
    return pd.DataFrame(columns)


# -------------------------------------------------------------------------- ours

# Surprise SVD's defaults in our names: n_factors=100, n_epochs=20, lr_all=0.005,
# reg_all=0.02 (on factors and biases), init_std_dev=0.1; tol=None runs all 20 epochs
# as Surprise does. Used by core.py and run.py. In Surprise's units (raw ratings):
# fit through ours_model(..., peer_units=True).
AT_SURPRISE_SVD: dict[str, Any] = {
    "solver": "sgd",
    "n_components": 100,
    "max_iter": 20,
    "tol": None,
    "learning_rate": 0.005,
    "alpha": 0.02,
    "alpha_bias": 0.02,
    "init_std": 0.1,
    "random_state": 0,
}


# How the settings of a row matched to a peer are turned into ours, for its report.
PEER_UNITS_NOTE = (
    " (the peer's settings for raw ratings, in ours: alpha = reg / s, learning_rate "
    "= lr * s, init_std = std / sqrt(s), with s the std of the training ratings)"
)


def in_our_units(params: dict[str, Any], y) -> dict[str, Any]:
    """``params`` set as a peer sets them, for the raw ratings ``y``, in our units.

    Our solvers fit the ratings divided by their standard deviation ``s``: a peer's
    penalty ``reg`` on the vectors of raw ratings is our ``alpha = reg / s``, its
    vectors' step size ``lr`` our ``learning_rate = lr * s`` (its biases' steps are
    then ``s`` times ours: no one step size matches both) and its initial standard
    deviation ``std`` our ``init_std = std / sqrt(s)``. Bias penalties are the same
    in both units.
    """
    spread = float(np.std(np.asarray(y, dtype=float)))
    ours = dict(params)
    if "alpha" in ours:
        ours["alpha"] = params["alpha"] / spread
    if "learning_rate" in ours:
        ours["learning_rate"] = params["learning_rate"] * spread
    if "init_std" in ours:
        ours["init_std"] = params["init_std"] / np.sqrt(spread)
    return ours


def ours_model(
    name: str,
    params: dict[str, Any],
    estimator: type = MatrixFactorization,
    *,
    peer_units: bool = False,
) -> Model:
    """Our ``estimator`` with ``params``; with ``peer_units``, params set in a peer's
    units, translated on each split's training ratings (see ``in_our_units``)."""

    def fit(data):
        X, y = data
        return estimator(**(in_our_units(params, y) if peer_units else params)).fit(
            X, y
        )

    return Model(
        name=name,
        # Nothing to prepare: our fit takes the DataFrame as a user would pass it,
        # so its validation and id encoding count as fit time.
        prepare=lambda X, y: (X, y),
        fit=fit,
        predict=lambda model, X: model.predict(X),
    )


# ---------------------------------------------------------------------- Surprise


def surprise_model(name: str, make_algo: Callable[[], Any]) -> Model:
    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        from surprise import Dataset, Reader

        reader = Reader(rating_scale=(float(y.min()), float(y.max())))
        return Dataset.load_from_df(_frame(X, y), reader).build_full_trainset()

    def fit(trainset: Any) -> Any:
        algo = make_algo()
        algo.fit(trainset)
        return algo

    def predict(algo: Any, X: pd.DataFrame) -> np.ndarray:
        # Surprise wants (user, item, true rating) triples; the true rating is only
        # echoed back in the Prediction, so a placeholder keeps the API y-free.
        users, items = X.iloc[:, 0].tolist(), X.iloc[:, 1].tolist()
        predictions = algo.test(
            [(u, i, 0.0) for u, i in zip(users, items, strict=True)]
        )
        return np.fromiter((p.est for p in predictions), float, len(predictions))

    return Model(name=name, prepare=prepare, fit=fit, predict=predict)


def surprise(name: str, algo: str) -> Adapter:
    import surprise as sp

    factories: dict[str, Callable[[], Any]] = {
        "BaselineOnly": lambda: sp.BaselineOnly(verbose=False),
        "SVD": lambda: sp.SVD(random_state=0),
        "SVDpp": lambda: sp.SVDpp(random_state=0),
    }
    return Adapter(surprise_model(name, factories[algo]))


# ----------------------------------------------------------------------- LensKit


def lenskit(name: str) -> Adapter:
    from lenskit.als import BiasedMFScorer
    from lenskit.data import from_interactions_df
    from lenskit.training import TrainingOptions

    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        frame = _frame(X, y).rename(columns={"user": "user_id", "item": "item_id"})
        return from_interactions_df(frame)

    def fit(dataset: Any) -> Any:
        scorer = BiasedMFScorer()  # BiasedMFConfig() defaults
        scorer.train(dataset, TrainingOptions(rng=0))
        return scorer

    def predict(scorer: Any, X: pd.DataFrame) -> np.ndarray:
        # LensKit scores one user per call through its pipeline; this applies the
        # same formula as BiasedMFScorer.__call__ + finalize_scores to all rows at
        # once (global + item + user bias + dot product; unknown ids contribute
        # nothing), so its predict s is not inflated by a Python loop over users.
        users = scorer.users.numbers(X.iloc[:, 0].to_numpy(), missing="negative")
        items = scorer.items.numbers(X.iloc[:, 1].to_numpy(), missing="negative")
        bias = scorer.bias
        known_u, known_i = users >= 0, items >= 0
        scores = np.full(len(X), bias.global_bias, dtype=float)
        if bias.item_biases is not None:
            scores[known_i] += bias.item_biases[items[known_i]]
        if bias.user_biases is not None:
            scores[known_u] += bias.user_biases[users[known_u]]
        both = known_u & known_i
        scores[both] += np.einsum(
            "ij,ij->i",
            scorer.user_embeddings[users[both]],
            scorer.item_embeddings[items[both]],
        )
        return scores

    return Adapter(Model(name=name, prepare=prepare, fit=fit, predict=predict))


# -------------------------------------------------------------------------- myfm


@dataclass
class _Blocks:
    """myfm relation blocks for the rows of one split, and their column groups."""

    relations: list[Any]
    group_shapes: list[int]


class _MyfmEncoder:
    """Per-user and per-item feature rows built from the training ratings.

    Each user's row is its one-hot column, plus (implicit=True) the items it rated in
    training, each weighted 1/sqrt(count), as in myfm's MovieLens examples (the
    "SVD++-like" features); items likewise with the users who rated them. One extra
    empty row stands for ids unseen in training. myfm's RelationBlock stores each row
    once and indexes it per rating, so the implicit features stay cheap on ML-1M.
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, implicit: bool):
        self.user_index = pd.Index(pd.unique(users))
        self.item_index = pd.Index(pd.unique(items))
        u = self.user_index.get_indexer(users)
        i = self.item_index.get_indexer(items)
        n_u, n_i = len(self.user_index), len(self.item_index)
        self.user_rows = self._rows(u, i, n_u, n_i, implicit)
        self.item_rows = self._rows(i, u, n_i, n_u, implicit)
        self.group_shapes = [n_u, n_i, n_i, n_u] if implicit else [n_u, n_i]

    @staticmethod
    def _rows(own: np.ndarray, other: np.ndarray, n_own: int, n_other: int, implicit):
        import scipy.sparse as sps

        # Row n_own (the extra one) is all zeros: an id unseen in training.
        onehot = sps.eye(n_own + 1, n_own, format="csr")
        if not implicit:
            return onehot
        pairs = sps.csr_matrix(
            (np.ones(len(own)), (own, other)), shape=(n_own + 1, n_other)
        )
        pairs.data[:] = 1.0  # duplicate pairs count once
        counts = np.asarray(pairs.sum(axis=1)).ravel()
        scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        return sps.hstack([onehot, sps.diags(scale) @ pairs], format="csr")

    def blocks(self, X: pd.DataFrame) -> _Blocks:
        import myfm

        u = self.user_index.get_indexer(X.iloc[:, 0].to_numpy())
        i = self.item_index.get_indexer(X.iloc[:, 1].to_numpy())
        u[u < 0], i[i < 0] = len(self.user_index), len(self.item_index)
        relations = [
            myfm.RelationBlock(u.astype(np.int64), self.user_rows),
            myfm.RelationBlock(i.astype(np.int64), self.item_rows),
        ]
        return _Blocks(relations, self.group_shapes)


def myfm_bayesian(name: str, n_iter: int, implicit: bool, rank: int = 10) -> Adapter:
    import myfm

    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        encoder = _MyfmEncoder(
            X.iloc[:, 0].to_numpy(), X.iloc[:, 1].to_numpy(), implicit
        )
        return encoder, encoder.blocks(X), y.to_numpy(dtype=float)

    def fit(data: Any) -> Any:
        encoder, blocks, y = data
        fm = myfm.MyFMRegressor(rank=rank, random_seed=0)
        # As myfm's MovieLens examples: every kept sample is averaged in predict.
        fm.fit(
            None,
            y,
            X_rel=blocks.relations,
            n_iter=n_iter,
            n_kept_samples=n_iter,
            group_shapes=blocks.group_shapes,
        )
        return encoder, fm

    def predict(fitted: Any, X: pd.DataFrame) -> np.ndarray:
        encoder, fm = fitted
        return fm.predict(None, X_rel=encoder.blocks(X).relations)

    return Adapter(Model(name=name, prepare=prepare, fit=fit, predict=predict))


# ------------------------------------------------------------------------- Spark


def _spark_session() -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sklearn_mf-benchmark")
        # Spark's 1 GiB default driver heap is tight for ML-1M at rank 50.
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        # 200 shuffle partitions (the default) only add overhead on 2 local cores;
        # this affects the predict join, not ALS's own blocking.
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # ALS checkpoints its factor RDDs every 10 iterations when a directory is set,
    # which keeps the lineage (and stack depth) bounded.
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="sklearn_mf_spark_"))
    return spark


def _stop_spark(spark: Any) -> None:
    """Stop Spark and wait for the JVM, so the worker's RUSAGE_CHILDREN counts it."""
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        # The JVM's PythonGatewayServer exits when its stdin closes.
        proc.stdin.close()
        proc.wait(timeout=60)


def spark_als(name: str) -> Adapter:
    from pyspark.ml.recommendation import ALS

    spark = _spark_session()
    extra: dict[str, Any] = {"unseen_nan": []}

    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        frame = _frame(X, y)
        df = spark.createDataFrame(frame).cache()
        df.count()  # materialise the cache outside the fit timer
        return df, float(frame["rating"].mean())

    def fit(data: Any) -> Any:
        df, mean = data
        # Rank 50 as in the table of DESIGN.md; everything else ALS's defaults
        # (maxIter=10, regParam=0.1, nonnegative=False, coldStartStrategy="nan").
        als = ALS(rank=50, userCol="user", itemCol="item", ratingCol="rating", seed=0)
        return als.fit(df), mean

    def predict(fitted: Any, X: pd.DataFrame) -> np.ndarray:
        model, mean = fitted
        frame = _frame(X).assign(row=np.arange(len(X)))
        # transform() is a join: the row number puts the predictions back in order.
        out = model.transform(spark.createDataFrame(frame)).select("row", "prediction")
        result = out.toPandas().sort_values("row")["prediction"].to_numpy(float)
        unseen = np.isnan(result)
        extra["unseen_nan"].append(int(unseen.sum()))
        # Spark predicts NaN for ids unseen in training: fill with the training mean.
        result[unseen] = mean
        return result

    return Adapter(
        Model(name=name, prepare=prepare, fit=fit, predict=predict),
        close=lambda: _stop_spark(spark),
        extra=extra,
    )


# ------------------------------------------------------------------------ cornac


def cornac_mf(name: str, seed: int | None = 0) -> Adapter:
    """cornac's ``MF()``: seeded, it runs its epochs on one thread (reproducible);
    with ``seed=None``, on every core, lock-free (not reproducible)."""
    import cornac

    def prepare(X: pd.DataFrame, y: pd.Series) -> Any:
        triples = list(_frame(X, y).itertuples(index=False, name=None))
        return cornac.data.Dataset.from_uir(triples, seed=0)

    def fit(train_set: Any) -> Any:
        # MF() defaults: k=10, max_iter=20, learning_rate=0.01, lambda_reg=0.02,
        # use_bias=True, early_stop=False.
        return cornac.models.MF(seed=seed).fit(train_set)

    def predict(model: Any, X: pd.DataFrame) -> np.ndarray:
        # model.score() takes one user at a time; this is its formula for all rows at
        # once (unknown users get global mean + item bias, unknown items the global
        # mean + user bias), clipped to the training range as cornac's rate() does.
        train_set = model.train_set
        u = pd.Series(train_set.uid_map).reindex(X.iloc[:, 0].to_numpy())
        i = pd.Series(train_set.iid_map).reindex(X.iloc[:, 1].to_numpy())
        known_u, known_i = u.notna().to_numpy(), i.notna().to_numpy()
        u = u.fillna(0).to_numpy(int)
        i = i.fillna(0).to_numpy(int)
        scores = np.full(len(X), float(model.global_mean))
        scores[known_u] += model.u_biases[u[known_u]]
        scores[known_i] += model.i_biases[i[known_i]]
        both = known_u & known_i
        scores[both] += np.einsum(
            "ij,ij->i", model.u_factors[u[both]], model.i_factors[i[both]]
        )
        return np.clip(scores, train_set.min_rating, train_set.max_rating)

    return Adapter(Model(name=name, prepare=prepare, fit=fit, predict=predict))
