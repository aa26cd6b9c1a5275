"""A distributed fit: the ratings' partitions validated and summarised, cut into user
and item blocks that stay on the workers, and the ALS epochs run as tasks between
them, driven by the library's one epoch loop.

Each side is cut into one block per worker, contiguous ranges of codes of about
equal work, and every task of a block runs on that block's worker, on its threads.
A half-step of a side sends each of its blocks, from each block of the other side,
only the rows its ratings name (the in- and out-blocks of Spark's ALS), then solves
the block's rows with the local fit's row solves.
"""

import dataclasses
import functools
import operator
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import getitem

import numpy as np
from dask import delayed
from distributed import wait

from .._ratings import chunk_bounds
from .._solvers import (
    FactorModel,
    Penalty,
    coefficients,
    gathers_in_float32,
    penalised_gram,
    train,
)
from .._state import FittedState, RatingHistory, SideState
from .._sums import ExactSum
from .._training_set import spread
from ..utils._random import draw_seeds
from ..utils._threads import numba_threads
from . import _blocks, _parts

_FAN_IN = 8  # partitions' summaries combined per task of a tree reduction
SIDES = ("user", "item")


def _key(function: Callable) -> str:
    # Tasks named after what they do, as the dashboard and the logs show them.
    return f"sklearn_mf-{function.__name__.strip('_')}-{uuid.uuid4().hex}"


def _on_threads(n_threads: int, function: Callable, *args):
    # A block's task has its worker's threads, and numba's kernels use just those.
    # (BLAS is left alone: the tasks' few NumPy products are small, and a worker's
    # nanny starts it with one BLAS thread.)
    with numba_threads(n_threads, budget=False):
        return function(*args)


class Placement:
    """Where the blocks go: one block of each side per worker, and every task of
    block ``b`` on worker ``b``, on that worker's threads.

    One block per worker rather than per thread: a worker then receives each row
    of the other side once per half-step, whatever its number of threads, and a
    half-step takes a number of tasks quadratic in the number of workers, not of
    threads.
    """

    def __init__(self, client):
        self.client = client
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # distributed before 2025: all workers, no argument
            workers = client.scheduler_info()["workers"]
        if not workers:
            raise ValueError(
                "The Dask cluster has no workers: start some before fitting."
            )
        self.workers = sorted(workers)
        self.threads = [workers[address]["nthreads"] for address in self.workers]

    def on(self, block: int, function: Callable, *args):
        """Run ``function(*args)`` on block ``block``'s worker (futures among the
        arguments are fetched there)."""
        return self.client.submit(
            _on_threads,
            self.threads[block],
            function,
            *args,
            key=_key(function),
            workers=[self.workers[block]],
            allow_other_workers=False,
        )

    def anywhere(self, function: Callable, *args):
        return self.client.submit(_on_threads, 1, function, *args, key=_key(function))

    def tree(self, futures: list, combine: Callable, *args):
        """Combine ``futures`` by ``combine(list, *args)`` in a tree of tasks; return
        the result."""
        while len(futures) > 1:
            futures = [
                self.anywhere(combine, futures[i : i + _FAN_IN], *args)
                for i in range(0, len(futures), _FAN_IN)
            ]
        return futures[0].result()


def _sum(values: list) -> np.ndarray:
    return np.sum(values, axis=0)


def _ids(part: _parts.Part, side: str) -> np.ndarray:
    return _parts.distinct_ids([part.users if side == "user" else part.items], side)


def _fetched(*pieces: _parts.Encoded) -> tuple:
    return pieces


def _counts(part: _parts.Encoded, side: str, n_codes: int) -> np.ndarray:
    codes = part.user_codes if side == "user" else part.item_codes
    return _parts.code_counts(codes, n_codes)


@dataclass
class Layout:
    """The fit's ids, standardisation and blocks: ``ids``, ``bounds`` (block ``b``
    of a side holds its codes ``bounds[b]:bounds[b + 1]``) and ``blocks`` (futures)
    per side."""

    ids: dict
    standardisation: _parts.Standardisation
    rating_range: tuple[float, float]
    total_weight: float
    bounds: dict
    blocks: dict

    def n_rows(self, side: str) -> int:
        return self.ids[side].shape[0]


def _total(partials: list) -> ExactSum:
    return functools.reduce(operator.add, partials)


def _standardisation(placement: Placement, parts: list) -> tuple:
    """``(standardisation, rating range, total relative weight)`` of the ratings:
    ``TrainingSet``'s statistics from the same exactly rounded sums, in four passes
    over the partitions (each needs the last one's result)."""

    def each(function, *args) -> list:
        return placement.client.gather(
            [placement.anywhere(function, part, *args) for part in parts]
        )

    moments = each(_parts.weight_moments)
    if sum(m.n_ratings for m in moments) == 0:
        raise ValueError("X has no ratings: every partition is empty.")
    n_positive = sum(m.n_positive for m in moments)
    if n_positive == 0:
        raise ValueError("sample_weight must have a positive entry; all are zero.")
    weight_scale = (
        _total([m.positive_weight for m in moments]).value() / n_positive
        if any(m.weighted for m in moments)
        else 1.0
    )
    standardisation = _parts.Standardisation(weight_scale)
    sums = each(_parts.sums, standardisation)
    total = _total([s.weight for s in sums]).value()
    standardisation = _parts.Standardisation(
        weight_scale,
        _total([s.rating for s in sums]).value() / total,
        feature_mean=_total([s.features for s in sums]).value() / total,
    )
    largest = [
        np.max(values, axis=0)
        for values in zip(*each(_parts.largest, standardisation), strict=True)
    ]
    squares = [
        _total(list(values)).value()
        for values in zip(*each(_parts.squares, standardisation, largest), strict=True)
    ]
    rating_scale = spread(largest[0], squares[0], total)
    feature_scale = spread(largest[1], squares[1], total)
    standardisation = dataclasses.replace(
        standardisation,
        rating_scale=float(rating_scale) if rating_scale > 0 else 1.0,
        feature_scale=np.where(feature_scale == 0, 1.0, feature_scale),
    )
    rating_range = (min(m.low for m in moments), max(m.high for m in moments))
    return standardisation, rating_range, total


def layout(placement: Placement, partitions: list, n_components: int) -> Layout:
    """Validate, index and standardise the ratings of ``partitions`` (``(X, y,
    sample_weight)`` of each, delayed), and cut them into blocks on the workers."""
    # The validated partitions are referenced here only (not by a caller's
    # argument), so that they are freed once encoded.
    parts = placement.client.compute(
        [delayed(_parts.validated_part)(*partition) for partition in partitions]
    )
    standardisation, rating_range, total_weight = _standardisation(placement, parts)
    ids = {
        side: placement.tree(
            [placement.anywhere(_ids, part, side) for part in parts],
            _parts.distinct_ids,
            side,
        )
        for side in SIDES
    }
    scattered = {
        side: placement.client.scatter(ids[side], broadcast=True, hash=False)
        for side in SIDES
    }
    encoded = [
        placement.anywhere(
            _parts.encoded,
            part,
            scattered["user"],
            scattered["item"],
            standardisation,
        )
        for part in parts
    ]
    del parts, scattered
    n_blocks = len(placement.workers)
    bounds = {}
    for side in SIDES:
        counts = placement.tree(
            [
                placement.anywhere(_counts, part, side, ids[side].shape[0])
                for part in encoded
            ],
            _sum,
        )
        indptr = np.concatenate(([0], np.cumsum(counts)))
        bounds[side] = chunk_bounds(indptr, n_components, n_blocks)

    def side_blocks(side: str, cut: list, scale: tuple[float, float]) -> list:
        """The blocks of ``side`` from ``cut``, one list of pieces per source in
        input order; ``scale`` turns the pieces' ratings into targets."""
        other = SIDES[1 - SIDES.index(side)]
        return [
            placement.on(
                b,
                _blocks.block,
                side,
                int(bounds[side][b]),
                int(bounds[side][b + 1]),
                ids[other].shape[0],
                *scale,
                # As many work chunks per thread as the local fit makes.
                (n_components, 4 * placement.threads[b]),
                # Fetched by a task of their own, so that the workers that cut them
                # free their copies before the block is built.
                placement.on(
                    b,
                    _fetched,
                    *[placement.anywhere(getitem, pieces, b) for pieces in cut],
                ),
            )
            for b in range(bounds[side].shape[0] - 1)
        ]

    # The memory of a fit peaks while blocks are built: the partitions are freed
    # once cut for the user blocks, and the item blocks are cut from those, whose
    # order (by user, each user's ratings by item, ties in input order) gives each
    # item's ratings the local fit's order.
    blocks = {
        "user": side_blocks(
            "user",
            [
                placement.anywhere(_parts.cut_by_blocks, part, "user", bounds["user"])
                for part in encoded
            ],
            (standardisation.global_mean, standardisation.rating_scale),
        )
    }
    del encoded
    wait(blocks["user"])
    blocks["item"] = side_blocks(
        "item",
        [
            placement.on(b, _blocks.item_pieces, block, bounds["item"])
            for b, block in enumerate(blocks["user"])
        ],
        (0.0, 1.0),  # their ratings are targets already
    )
    wait(blocks["item"])
    return Layout(ids, standardisation, rating_range, total_weight, bounds, blocks)


@dataclass
class BlockModel:
    """The model being fitted, sharded: each block's rows (futures on its worker),
    the feature coefficients, and whether the last epoch left everything finite."""

    rows: dict
    coef: np.ndarray
    finite: bool = True

    def is_finite(self) -> bool:
        return self.finite


class DistributedALS:
    """The epochs of ALS (``cg_steps=None``) or CG on the blocks of ``layout``: the
    trainer that the epoch loop drives, on a :class:`BlockModel`."""

    def __init__(
        self,
        placement: Placement,
        layout: Layout,
        *,
        alpha: float,
        alpha_bias: float,
        fit_bias: bool,
        cg_steps: int | None,
        n_components: int,
        init_std: float,
    ):
        self.placement = placement
        self.layout = layout
        self.settings = _blocks.HalfStep(
            Penalty(alpha, alpha_bias, fit_bias), cg_steps, n_components, init_std
        )
        # Who receives which rows: sent[side][j][b] are the rows of ``side``'s block
        # j that the other side's block b needs.
        self.sent = {}
        for side, other in (SIDES, SIDES[::-1]):
            sender = layout.bounds[side]
            needed = [
                placement.on(b, getattr, block, "needed")
                for b, block in enumerate(layout.blocks[other])
            ]
            self.sent[side] = [
                [
                    placement.on(
                        j,
                        _blocks.sent_rows,
                        need,
                        int(sender[j]),
                        int(sender[j + 1]),
                    )
                    for need in needed
                ]
                for j in range(sender.shape[0] - 1)
            ]
        self.gram = None
        n_features = layout.standardisation.feature_mean.shape[0]
        if n_features:
            self.gram = penalised_gram(
                _sum(
                    placement.client.gather(
                        [
                            placement.on(b, _blocks.feature_moments, block)
                            for b, block in enumerate(layout.blocks["item"])
                        ]
                    )
                ),
                layout.total_weight * alpha_bias,
            )

    def initial_model(self, seed: int) -> BlockModel:
        layout, rows = self.layout, {}
        for side in SIDES:
            bounds = layout.bounds[side]
            rows[side] = [
                self.placement.on(
                    b,
                    _blocks.starting_rows,
                    side,
                    layout.ids[side][bounds[b] : bounds[b + 1]],
                    block,
                    seed,
                    self.settings,
                )
                for b, block in enumerate(layout.blocks[side])
            ]
        n_features = layout.standardisation.feature_mean.shape[0]
        return BlockModel(rows, np.zeros(n_features))

    def _half_step(self, side: str, model: BlockModel, score: bool):
        """Solve ``side``'s blocks; return the new rows, the stats (futures) and
        each block's received rows."""
        other = SIDES[1 - SIDES.index(side)]
        float32 = gathers_in_float32(
            self.layout.n_rows(other),
            self.settings.n_components,
            self.settings.cg_steps,
        )
        # The items' blocks also score and regress the features on what they
        # receive, in float64 as the local fit does: those rows travel in float64.
        send_float32 = float32 and not (side == "item" and model.coef.size)
        rows, stats, received = [], [], []
        for b, block in enumerate(self.layout.blocks[side]):
            messages = [
                self.placement.on(j, _blocks.message, sender, sent[b], send_float32)
                for j, (sender, sent) in enumerate(
                    zip(model.rows[other], self.sent[other], strict=True)
                )
            ]
            solved = self.placement.on(
                b,
                _blocks.solve,
                block,
                model.rows[side][b],
                self.settings,
                model.coef,
                score,
                float32,
                *messages,
            )
            rows.append(self.placement.on(b, getitem, solved, 0))
            stats.append(self.placement.on(b, getitem, solved, 1))
            received.append(messages)
        return rows, stats, received

    def _over_items(self, function: Callable, model: BlockModel, received, *args):
        return _sum(
            self.placement.client.gather(
                [
                    self.placement.on(b, function, block, rows, *args, *messages)
                    for b, (block, rows, messages) in enumerate(
                        zip(
                            self.layout.blocks["item"],
                            model.rows["item"],
                            received,
                            strict=True,
                        )
                    )
                ]
            )
        )

    def epoch(self, model: BlockModel) -> float:
        """One epoch on ``model`` (in place): all users, all items, then the
        feature coefficients; return the objective it reaches."""
        with_features = model.coef.size > 0
        model.rows["user"], user_stats, _ = self._half_step("user", model, False)
        model.rows["item"], item_stats, received = self._half_step(
            "item", model, not with_features
        )
        stats: Sequence[_blocks.Stats] = self.placement.client.gather(
            user_stats + item_stats
        )
        if with_features:
            rhs = self._over_items(_blocks.feature_residuals, model, received)
            model.coef = coefficients(self.gram, rhs)
            squared_error = float(
                self._over_items(_blocks.squared_error, model, received, model.coef)
            )
        else:
            squared_error = sum(s.squared_error for s in stats[len(user_stats) :])
        penalty = self.settings.penalty
        total_weight = self.layout.total_weight
        model.finite = all(s.finite for s in stats) and bool(
            np.isfinite(model.coef).all()
        )
        return (
            squared_error
            + penalty.alpha * sum(s.factor_norm for s in stats)
            + penalty.alpha_bias
            * (
                sum(s.bias_norm for s in stats)
                + total_weight * float(np.square(model.coef).sum())
            )
        ) / total_weight

    def gathered(self, model: BlockModel) -> FactorModel:
        """The fitted model, brought to the client."""
        sides = {side: self.placement.client.gather(model.rows[side]) for side in SIDES}
        return FactorModel(
            user_bias=np.concatenate([s.bias for s in sides["user"]]),
            item_bias=np.concatenate([s.bias for s in sides["item"]]),
            user_factors=np.concatenate([s.vectors for s in sides["user"]]),
            item_factors=np.concatenate([s.vectors for s in sides["item"]]),
            coef=model.coef.copy(),
        )


@dataclass
class FitResult:
    """A distributed fit's state (without its rating history), the futures of the
    users' blocks of that history, and whether the stopping rule fired."""

    state: FittedState
    history: list
    converged: bool


def fit(placement: Placement, partitions: list, params: dict) -> FitResult:
    """Fit ``MatrixFactorization``'s model with the parameters ``params`` (its
    ``get_params()``, alpha a number, solver "als" or "cg") to the ratings of
    ``partitions`` (``(X, y, sample_weight)`` of each, delayed)."""
    n_components = params["n_components"]
    cg_steps = params["cg_steps"] if params["solver"] == "cg" else None
    init_seed = draw_seeds(params["random_state"], 3)[0]  # as the local fit's
    data = layout(placement, partitions, n_components)
    trainer = DistributedALS(
        placement,
        data,
        alpha=params["alpha"],
        alpha_bias=params["alpha_bias"],
        fit_bias=params["fit_bias"],
        cg_steps=cg_steps,
        n_components=n_components,
        init_std=params["init_std"],
    )
    standardisation = data.standardisation
    scale = standardisation.rating_scale
    result = train(
        trainer,
        trainer.initial_model(init_seed),
        max_iter=params["max_iter"],
        tol=params["tol"],
        n_iter_no_change=params["n_iter_no_change"],
        validation_score=None,
        verbose=params["verbose"],
        solver_name=params["solver"],
        loss_unit=scale**2,
        remedy="Check alpha and init_std, and the ratings, weights and features, "
        "for extreme values.",
    )
    model = trainer.gathered(result.model).rescaled(scale)
    history = [
        placement.on(b, _blocks.history, block, scale, model.coef)
        for b, block in enumerate(data.blocks["user"])
    ]
    wait(history)  # before the blocks go, and so that errors surface here
    state = FittedState(
        users=SideState(data.ids["user"], model.user_bias, model.user_factors),
        items=SideState(data.ids["item"], model.item_bias, model.item_factors),
        global_mean=standardisation.global_mean,
        rating_scale=scale,
        rating_range=data.rating_range,
        coef=model.coef / standardisation.feature_scale,
        feature_mean=standardisation.feature_mean,
        history=None,
        n_iter=result.n_iter,
        weight_scale=standardisation.weight_scale,
        folded_items=np.zeros(data.n_rows("item"), dtype=bool),
        loss_curve=result.loss_curve,
        alpha=params["alpha"],
    )
    return FitResult(state, history, result.converged)


def gathered_history(client, history: list) -> RatingHistory:
    """The rating history of the users' blocks ``history`` (futures), as one."""
    blocks = client.gather(history)
    offsets = np.cumsum([0] + [h.indptr[-1] for h in blocks[:-1]])
    indptr = np.concatenate(
        [h.indptr[:-1] + offset for h, offset in zip(blocks, offsets, strict=True)]
        + [[offsets[-1] + blocks[-1].indptr[-1]]]
    )
    weights = [h.weight for h in blocks]
    return RatingHistory(
        indptr,
        np.concatenate([h.items for h in blocks]),
        np.concatenate([h.target for h in blocks]),
        None
        if all(w is None for w in weights)
        else np.concatenate(
            [
                np.ones(h.target.shape[0]) if w is None else w
                for h, w in zip(blocks, weights, strict=True)
            ]
        ),
    )
