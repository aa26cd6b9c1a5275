"""Alternating least squares: exact block minimisation, so the loss never rises."""

import numpy as np

from .._kernels._als import als_cg_half_step, als_half_step
from .._ratings import RatingData, SideIndex
from ._implicit import ImplicitTerm
from ._model import FactorModel, objective

# Conjugate-gradient steps per epoch on the implicit-feedback vectors when the rows
# are solved exactly (cg_steps=None): that problem couples all items, so it has no
# cheap exact solve.
IMPLICIT_STEPS = 3


class ALSSolver:
    """One epoch solves for all users, then all items, then the implicit-feedback
    vectors (if any), then the feature coefficients.

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
        implicit_feedback: bool = False,
        alpha_implicit: float = 0.0,
        cg_steps: int | None = None,
        **_,
    ):
        self.data = data
        self.alpha_implicit = alpha_implicit
        self.implicit = ImplicitTerm(data) if implicit_feedback else None
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

    def user_vectors(self, model: FactorModel) -> np.ndarray:
        """The vectors that multiply the item factors: ``p_u`` (``+ z_u``)."""
        if self.implicit is None:
            return model.user_factors
        return model.user_factors + self.implicit.sums(model.implicit_factors)

    def _solve_side(
        self, side: SideIndex, coef, other_bias, other_factors, bias, factors, prior
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
            prior,
        )
        if self.cg_steps is None:
            als_half_step(*arguments, bias, factors)
        else:
            als_cg_half_step(*arguments, self.cg_steps, bias, factors)

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` and return the objective it reaches."""
        data = self.data
        no_prior = np.zeros((0, model.user_factors.shape[1]))
        if self.implicit is None:
            user_vectors, prior = model.user_factors, no_prior
        else:
            # Solve for the full vectors v_u = p_u + z_u, penalised towards z_u.
            prior = self.implicit.sums(model.implicit_factors)
            user_vectors = model.user_factors + prior
        self._solve_side(
            data.by_user,
            model.coef,
            model.item_bias,
            model.item_factors,
            model.user_bias,
            user_vectors,
            prior,
        )
        self._solve_side(
            data.by_item,
            model.coef,
            model.user_bias,
            user_vectors,
            model.item_bias,
            model.item_factors,
            no_prior,
        )
        if self.implicit is not None:
            model.user_factors[:] = user_vectors - prior
            self.implicit.step(
                model, self.alpha_implicit, self.cg_steps or IMPLICIT_STEPS
            )
            user_vectors = self.user_vectors(model)
        if model.coef.size:
            # Residual of everything but the feature term, regressed on the features.
            residual = (
                data.target
                - model.estimate(data, user_vectors)
                + data.feature_term(model.coef)
            )
            rhs = data.features.T @ (data.weight * residual)
            model.coef[:] = np.linalg.solve(self._feature_gram, rhs)
        return objective(
            model,
            data,
            self.alpha,
            self.alpha_bias,
            self.alpha_implicit,
            user_vectors,
        )
