"""Stochastic gradient descent with one implicit-feedback term (SVD++, as in Surprise)."""

import numpy as np

from .._kernels._sgd_implicit import sgd_implicit_epoch
from .._kernels._types import Penalty, Ratings, Side
from .._ratings import RatingData
from ..utils._random import SEED_MAX
from ._implicit import ImplicitTerm
from ._model import FactorModel, penalty
from ._options import SolverOptions


def _pair_weights(indptr: np.ndarray, other: np.ndarray, weight: np.ndarray):
    """Each rating's ``c``: the summed weight of its row's ratings of the same
    column (its own weight unless the pair is repeated).

    Within a row the ratings are sorted by column, so repeats are adjacent.
    """
    n_ratings = other.shape[0]
    row_of = np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int32), np.diff(indptr))
    first = np.ones(n_ratings, dtype=bool)
    first[1:] = (other[1:] != other[:-1]) | (row_of[1:] != row_of[:-1])
    starts = np.flatnonzero(first)
    if starts.shape[0] == n_ratings:
        return np.asarray(weight, dtype=np.float64), row_of
    pair_sums = np.add.reduceat(np.asarray(weight, dtype=np.float64), starts)
    return np.repeat(pair_sums, np.diff(np.append(starts, n_ratings))), row_of


class SGDImplicitSolver:
    """SGD on the model with the implicit term of one side (``"user"``: SVD++).

    Every epoch visits the rows of that side (the users, for ``"user"``) in a new
    random order, and each row's ratings in a new random order, taking one gradient
    step per rating as Surprise's ``SVDpp`` does, on the objective of the other
    solvers (see :mod:`sklearn_mf._kernels._sgd_implicit`). It runs on one thread:
    each step changes implicit vectors that other rows' predictions read. The model
    is stored in float32 during training.
    """

    dtype = np.float32

    def __init__(self, data: RatingData, options: SolverOptions):
        if len(options.implicit_sides) != 1 or options.attributes is not None:
            raise ValueError(
                "SGDImplicitSolver fits one implicit term and no attribute terms."
            )
        if options.learning_rate is None or options.cg_steps is not None:
            raise ValueError("SGDImplicitSolver takes a learning_rate and no cg_steps.")
        (side,) = options.implicit_sides
        self.data = data
        self.side = side
        self.term = ImplicitTerm(data, side)
        self.alpha = options.alpha
        self.alpha_bias = options.alpha_bias
        self.alpha_implicit = options.alpha_implicit
        self.fit_bias = options.fit_bias
        self.learning_rate = options.learning_rate
        self.random_state = np.random.RandomState(options.order_seed)
        rows = self.term.rows
        pair_weight, row_of = _pair_weights(rows.indptr, rows.other, rows.weight)
        scale = self.term.row_scale
        # How far z moves per unit of pending update: s^2 sum_r w_r c_r.
        spread = np.square(scale) * np.bincount(
            row_of, weights=pair_weight * rows.weight, minlength=scale.shape[0]
        )
        self._pair_weight = pair_weight.astype(np.float32)
        self._spread = spread
        self._ratings = Ratings(
            rows.indptr,
            rows.other,
            rows.target.astype(np.float32),
            np.asarray(rows.weight, dtype=np.float32),
        )
        self._penalty = Penalty(self.alpha, self.alpha_bias, self.fit_bias)
        self._features = rows.gather(data.features).astype(np.float32)
        self._visit = np.empty(data.n_ratings, dtype=np.int64)

    def _sides(self, model: FactorModel) -> tuple[Side, Side, np.ndarray]:
        """(this side's parameters, the other side's, the implicit vectors)."""
        users, items = model.sides()
        if self.side == "user":
            return users, items, model.item_implicit
        return items, users, model.user_implicit

    def full_vectors(self, model: FactorModel) -> tuple[np.ndarray, np.ndarray]:
        """The vectors whose dot products make the predictions, implicit sums added."""
        rows, others, implicit = self._sides(model)
        row_vectors = rows.vectors + self.term.sums(implicit)
        if self.side == "user":
            return row_vectors, others.vectors
        return others.vectors, row_vectors

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` (float32) and return the epoch's loss, as
        :meth:`SGDSolver.epoch` defines it."""
        rows = self.term.rows
        row_order = self.random_state.permutation(rows.indptr.shape[0] - 1)
        seed = np.uint64(self.random_state.randint(SEED_MAX))
        squared_error = sgd_implicit_epoch(
            row_order,
            seed,
            self._visit,
            self._ratings,
            self._pair_weight,
            self._features,
            self.term.row_scale,
            self._spread,
            self.learning_rate,
            self._penalty,
            self.alpha_implicit,
            *self._sides(model),
            model.coef,
        )
        data = self.data
        return float(
            (
                squared_error
                + penalty(model, data, self.alpha, self.alpha_bias, self.alpha_implicit)
            )
            / data.total_weight
        )
