"""Stochastic gradient descent over shuffled ratings (Funk/Koren SVD, as in Surprise)."""

import numpy as np

from .._kernels._sgd import sgd_epoch
from .._ratings import RatingData
from ._model import FactorModel

# Users and items are each split into this many blocks. It is fixed, not tied to
# n_jobs, so that the schedule and hence the result are the same for any thread count;
# 8 diagonals of 8 disjoint cells keep 2 to 8 threads busy.
N_BLOCKS = 8


class SGDSolver:
    """One epoch visits every training rating once, in a fresh random order.

    Users and items are assigned to ``N_BLOCKS`` random blocks each; an epoch walks the
    block diagonals in random order, the cells of a diagonal in parallel, and the
    ratings of a cell user by user in random order (see :mod:`sklearn_mf._kernels._sgd`). Options
    meant for other solvers (``cg_steps``) are ignored.
    """

    def __init__(
        self,
        data: RatingData,
        *,
        alpha: float,
        alpha_bias: float,
        fit_bias: bool,
        learning_rate: float,
        random_state: np.random.RandomState,
        **_,
    ):
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        self.learning_rate = learning_rate
        self.random_state = random_state
        n_users = data.by_user.indptr.shape[0] - 1
        n_items = data.by_item.indptr.shape[0] - 1
        user_block = random_state.permutation(n_users) % N_BLOCKS
        item_block = random_state.permutation(n_items) % N_BLOCKS
        cell = user_block[data.user_codes] * N_BLOCKS + item_block[data.item_codes]
        # Ratings sorted by cell, then by user: a cell's ratings sit together in
        # memory, and so do each user's within it.
        order = np.argsort(cell * np.int64(n_users) + data.user_codes, kind="stable")
        cell, users = cell[order], data.user_codes[order]
        starts = np.flatnonzero((np.diff(cell) != 0) | (np.diff(users) != 0)) + 1
        self._segment_ptr = np.concatenate(([0], starts, [data.n_ratings])).astype(
            np.int64
        )
        self._cell_segment_ptr = np.searchsorted(
            cell[self._segment_ptr[:-1]], np.arange(N_BLOCKS * N_BLOCKS + 1)
        ).astype(np.int64)
        self._segment_visit = np.empty(self._segment_ptr.shape[0] - 1, dtype=np.int64)
        self._users = data.user_codes[order]
        self._items = data.item_codes[order]
        self._target = data.target[order]
        self._weight = data.weight[order]
        self._features = np.ascontiguousarray(data.features[order])
        self._visit = np.empty(data.n_ratings, dtype=np.int64)

    def epoch(self, model: FactorModel) -> None:
        diagonal_order = self.random_state.permutation(N_BLOCKS).astype(np.int64)
        seed = np.uint64(self.random_state.randint(np.iinfo(np.int32).max))
        sgd_epoch(
            self._cell_segment_ptr,
            self._segment_ptr,
            diagonal_order,
            seed,
            self._segment_visit,
            self._visit,
            self._users,
            self._items,
            self._target,
            self._weight,
            self._features,
            self.learning_rate,
            self.alpha,
            self.alpha_bias,
            self.fit_bias,
            model.user_bias,
            model.item_bias,
            model.user_factors,
            model.item_factors,
            model.coef,
        )
