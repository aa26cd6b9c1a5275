"""What the tasks of a distributed fit do with one block of users or items: gather
its ratings from the partitions' pieces, start its rows, solve them in a half-step,
send the other side the rows it needs, score its ratings. NumPy and the solvers'
functions only; ``_fit.py`` submits these.

A block is a contiguous range of codes of one side with all the ratings of those
rows, grouped by row (CSR) as the local fit groups them. Its ratings name the other
side's rows by their position in ``needed``, the sorted codes of the other side's
rows that they name: a half-step receives exactly those rows' biases and vectors,
from the blocks that hold them, in that order.
"""

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._ids import id_seeds
from .._ratings import SideIndex, group_parts, is_unit_weights
from .._solvers import (
    Penalty,
    Side,
    initial_model,
    row_norms,
    side_estimates,
    side_squared_error,
    solve_side,
)
from .._state import RatingHistory
from ._parts import Encoded, cut_by_blocks


@dataclass(frozen=True)
class Block:
    """The ratings of the rows ``first:first + n_rows`` of one side.

    ``index`` groups them by row (rows numbered from 0, the other side's rows by
    their position in ``needed``); ``features`` are their standardised features in
    ``index``'s order; ``row_weight`` the summed weight of each row's ratings.
    """

    first: int
    index: SideIndex
    needed: np.ndarray
    features: np.ndarray
    row_weight: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.row_weight.shape[0]

    def target(self, coef: np.ndarray) -> np.ndarray:
        """The standardised ratings net of the feature term, in ``index``'s order."""
        if coef.size == 0:
            return self.index.target
        return self.index.target - self.features @ coef


def block(
    side: str,
    first: int,
    stop: int,
    n_other: int,
    global_mean: float,
    rating_scale: float,
    n_chunks: tuple[int, int],
    pieces: tuple[Encoded, ...],
) -> Block:
    """The block of ``side``'s rows ``first:stop`` from its pieces of every
    partition, in the partitions' order, so that each row's ratings come in the
    order the local fit puts them (by the other side's code, of which there are
    ``n_other``; ties in input order). ``n_chunks`` is ``(n_components, number of
    work chunks)``."""
    user_side = side == "user"
    index, needed, row_weight = group_parts(
        [
            ((p.user_codes if user_side else p.item_codes) - first).astype(np.int32)
            for p in pieces
        ],
        [p.item_codes if user_side else p.user_codes for p in pieces],
        [p.y for p in pieces],
        None
        if all(p.weight is None for p in pieces)
        else [np.ones(p.y.shape[0]) if p.weight is None else p.weight for p in pieces],
        (stop - first, n_other),
        global_mean,
        rating_scale,
        n_chunks,
    )
    features = np.concatenate([p.features for p in pieces])[index.order]
    # The block reads its ratings in this order only: the positions can go.
    index = dataclasses.replace(index, order=np.zeros(0, dtype=np.int32))
    return Block(first, index, needed, features, row_weight)


def item_pieces(block: Block, bounds: np.ndarray) -> list[Encoded]:
    """A user block's ratings cut by the item blocks that start at ``bounds``, in
    the block's order, their targets in place of ratings (and no global mean or
    scale left to apply)."""
    index = block.index
    users = np.repeat(
        np.arange(block.first, block.first + block.n_rows, dtype=np.int32),
        np.diff(index.indptr),
    )
    ratings = Encoded(
        users,
        block.needed[index.other],
        index.target,
        None if is_unit_weights(index.weight) else index.weight,
        block.features,
    )
    return cut_by_blocks(ratings, "item", bounds)


def starting_rows(
    side: str, ids: np.ndarray, block: Block, seed: int, settings: "HalfStep"
) -> Side:
    """The initial biases and vectors of ``block``'s rows (ids ``ids``), drawn from
    each id's seed as the local fit draws them; rows without weight start at zero."""
    seeds = id_seeds(ids)
    none = np.zeros(0, dtype=seeds.dtype)
    model = initial_model(
        seeds if side == "user" else none,
        none if side == "user" else seeds,
        0,
        settings.n_components,
        frozenset(),
        seed,
        settings.init_std,
        np.float64,
    )
    bias, vectors = model.sides()[0 if side == "user" else 1]
    vectors[block.row_weight == 0] = 0.0
    return Side(bias, vectors)


def sent_rows(needed: np.ndarray, first: int, stop: int) -> np.ndarray:
    """The positions, in the block of rows ``first:stop``, of the rows that a block
    whose ratings need ``needed`` receives from it."""
    low, high = np.searchsorted(needed, [first, stop])
    return needed[low:high] - first


def message(rows: Side, positions: np.ndarray, float32: bool) -> Side:
    """The biases and vectors of the rows at ``positions``, the vectors in float32
    when the receiving half-step reads them so (see ``gathers_in_float32``)."""
    vectors = rows.vectors[positions]
    return Side(
        rows.bias[positions], vectors.astype(np.float32) if float32 else vectors
    )


class HalfStep(NamedTuple):
    """The settings of a half-step: the penalty, ``cg_steps`` (None: exact solves),
    and the model's rank and initial spread (for :func:`starting_rows`)."""

    penalty: Penalty
    cg_steps: int | None
    n_components: int
    init_std: float


class Stats(NamedTuple):
    """What a block's half-step reports for the loss: its rows' weighted squared
    norms (``sum_r W_r |p_r|^2``, ``sum_r W_r b_r^2``), the weighted squared error of
    its ratings (None when not scored), and whether its rows are finite."""

    factor_norm: float
    bias_norm: float
    squared_error: float | None
    finite: bool


def _received(messages: tuple[Side, ...]) -> Side:
    return Side(
        np.concatenate([m.bias for m in messages]),
        np.concatenate([m.vectors for m in messages]),
    )


def solve(
    block: Block,
    rows: Side,
    settings: HalfStep,
    coef: np.ndarray,
    score: bool,
    float32: bool,
    *messages: Side,
) -> tuple[Side, Stats]:
    """One half-step on ``block``: its rows solved from ``rows`` (not changed)
    against the other side's rows in ``messages`` (from each block of the other
    side, in order; read in float32 with ``float32``, see ``gathers_in_float32``),
    the feature term of ``coef`` fixed. With ``score``, the stats include the
    squared error of the block's ratings at the new rows."""
    other = _received(messages)
    if float32:
        other = Side(other.bias, other.vectors.astype(np.float32, copy=False))
    out = Side(rows.bias.copy(), rows.vectors.copy())
    target = block.target(coef)
    squared_error = solve_side(
        block.index,
        target,
        other,
        out,
        settings.penalty,
        np.zeros((0, settings.n_components)),
        settings.cg_steps,
        score=score,
    )
    if score and squared_error is None:  # exact solves do not score on the way
        squared_error = side_squared_error(block.index.ratings(target), out, other)
    return out, _stats(block, out, squared_error)


def _stats(block: Block, rows: Side, squared_error: float | None) -> Stats:
    return Stats(
        float(block.row_weight @ row_norms(rows.vectors)),
        float(block.row_weight @ np.square(rows.bias)),
        squared_error,
        bool(np.isfinite(rows.bias).all() and np.isfinite(rows.vectors).all()),
    )


def squared_error(block: Block, rows: Side, coef: np.ndarray, *messages: Side) -> float:
    """The weighted squared error of ``block``'s ratings with the feature term of
    ``coef``."""
    return side_squared_error(
        block.index.ratings(block.target(coef)), rows, _received(messages)
    )


def feature_moments(block: Block) -> np.ndarray:
    """``X' W X`` of the block's standardised features: summed over the blocks of a
    side, the Gram matrix of the coefficient step."""
    weight = block.index.weight
    return block.features.T @ (block.features * weight[:, None])


def feature_residuals(block: Block, rows: Side, *messages: Side) -> np.ndarray:
    """``X' W r`` over the block's ratings, ``r`` their standardised ratings net of
    everything but the feature term: summed over the blocks of a side, the
    right-hand side of the coefficient step."""
    residual = block.index.target - side_estimates(
        block.index, rows, _received(messages)
    )
    return block.features.T @ (block.index.weight * residual)


def history(block: Block, rating_scale: float, coef: np.ndarray) -> RatingHistory:
    """A user block's part of the fitted model's record of what each user rated
    (see ``RatingHistory``), with global item codes; ``coef`` is in the rescaled
    model's units."""
    index = block.index
    target = index.target * rating_scale
    if coef.size:
        target -= block.features @ coef
    weight = index.weight
    return RatingHistory(
        index.indptr,
        block.needed[index.other],
        target,
        None if is_unit_weights(weight) else weight,
    )
