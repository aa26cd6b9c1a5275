"""Alternating least squares: exact block minimisation, so the loss never rises."""

import numpy as np

from .._kernels._als import als_cg_half_step, als_half_step
from .._ratings import RatingData, SideIndex
from ._model import FactorModel, objective


class ALSSolver:
    """One epoch solves for all users, then all items, then the feature coefficients.

    With ``cg_steps=None`` every per-row ridge problem is solved exactly (Cholesky);
    otherwise by that many conjugate-gradient steps from the previous solution.
    Options meant for other solvers (``learning_rate``, ``random_state``) are ignored.
    """

    dtype = np.float64

    def __init__(
        self,
        data: RatingData,
        *,
        alpha: float,
        alpha_bias: float,
        fit_bias: bool,
        cg_steps: int | None = None,
        **_,
    ):
        self.data = data
        self.cg_steps = cg_steps
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        features = data.features
        if features.shape[1]:
            # The coefficient step is one small ridge regression whose Gram matrix is
            # fixed for the whole fit.
            self._feature_gram = features.T @ (features * data.weight[:, None])
            self._feature_gram[np.diag_indices_from(self._feature_gram)] += (
                data.total_weight * alpha_bias
            )

    def _solve_side(
        self, side: SideIndex, coef, other_bias, other_factors, bias, factors
    ):
        arguments = (
            side.chunks,
            side.indptr,
            side.other,
            self.data.side_target(side, coef),
            side.weight,
            other_bias,
            other_factors,
            self.alpha,
            self.alpha_bias,
            self.fit_bias,
        )
        if self.cg_steps is None:
            als_half_step(*arguments, bias, factors)
        else:
            als_cg_half_step(*arguments, self.cg_steps, bias, factors)

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` and return the objective it reaches."""
        data = self.data
        self._solve_side(
            data.by_user,
            model.coef,
            model.item_bias,
            model.item_factors,
            model.user_bias,
            model.user_factors,
        )
        self._solve_side(
            data.by_item,
            model.coef,
            model.user_bias,
            model.user_factors,
            model.item_bias,
            model.item_factors,
        )
        if model.coef.size:
            # Residual of everything but the feature term, regressed on the features.
            residual = (
                data.target - model.estimate(data) + data.feature_term(model.coef)
            )
            rhs = data.features.T @ (data.weight * residual)
            model.coef[:] = np.linalg.solve(self._feature_gram, rhs)
        return objective(model, data, self.alpha, self.alpha_bias)
