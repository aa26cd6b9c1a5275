"""Stochastic gradient descent over shuffled ratings (Funk/Koren SVD, as in Surprise)."""

import numpy as np

from .._kernels._sgd import sgd_epoch, user_blocked_order
from .._ratings import RatingData
from ._model import FactorModel


class SGDSolver:
    """One epoch visits every training rating once, in a fresh random order.

    The order takes the users in random order and each user's ratings in random
    order (see ``user_blocked_order``); Surprise visits them grouped by user too.
    Options meant for other solvers (``cg_steps``) are ignored.
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
        self.data = data
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        self.learning_rate = learning_rate
        self.random_state = random_state
        # The kernel walks the ratings grouped by user, so it reads them in that
        # layout: each user's ratings then sit together in memory.
        side = data.by_user
        self._users = data.user_codes[side.order]
        self._features = np.ascontiguousarray(side.gather(data.features))

    def epoch(self, model: FactorModel) -> None:
        data = self.data
        side = data.by_user
        order = np.empty(data.n_ratings, dtype=np.int64)
        user_order = self.random_state.permutation(side.indptr.shape[0] - 1)
        seed = np.uint64(self.random_state.randint(np.iinfo(np.int32).max))
        user_blocked_order(side.indptr, user_order, seed, order)
        sgd_epoch(
            order,
            self._users,
            side.other,
            side.target,
            side.weight,
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
