"""The parameters being fitted and the objective they minimise."""

from dataclasses import dataclass, fields

import numpy as np

from .._kernels._predict import predict_codes, row_squared_errors
from .._ratings import RatingData


@dataclass
class FactorModel:
    """Biases, latent factors and (standardised) feature coefficients.

    The global mean is not part of it: it is fixed to the weighted mean rating and
    subtracted from the targets before any solver runs.
    """

    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    coef: np.ndarray

    def copy(self) -> "FactorModel":
        return FactorModel(*(getattr(self, f.name).copy() for f in fields(self)))

    def is_finite(self) -> bool:
        return all(np.isfinite(getattr(self, f.name)).all() for f in fields(self))

    def estimate(self, data: RatingData) -> np.ndarray:
        """Model output for the training ratings, without the global mean."""
        out = np.empty(data.n_ratings)
        predict_codes(
            data.user_codes,
            data.item_codes,
            data.feature_term(self.coef),
            self.user_bias,
            self.item_bias,
            self.user_factors,
            self.item_factors,
            -np.inf,
            np.inf,
            out,
        )
        return out


def objective(
    model: FactorModel, data: RatingData, alpha: float, alpha_bias: float
) -> float:
    """The training objective divided by the total sample weight.

    ``sum_r w_r [e_r^2 + alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |c|^2)]``
    summed over the ratings ``r`` of user ``u`` and item ``i``. Penalties therefore grow
    with each row's rating weight, which is what per-rating SGD regularisation (Surprise
    ``SVD``) and weighted-lambda ALS (Spark's ALS-WR) both minimise.
    """
    side = data.by_user
    per_user = np.empty(side.indptr.shape[0] - 1)
    row_squared_errors(
        side.indptr,
        side.other,
        data.side_target(side, model.coef),
        side.weight,
        model.user_bias,
        model.item_bias,
        model.user_factors,
        model.item_factors,
        per_user,
    )
    squared_error = np.sum(per_user)
    user_w, item_w = data.by_user.row_weight, data.by_item.row_weight
    penalty = alpha * (
        np.sum(user_w * np.sum(model.user_factors**2, axis=1))
        + np.sum(item_w * np.sum(model.item_factors**2, axis=1))
    ) + alpha_bias * (
        np.sum(user_w * model.user_bias**2)
        + np.sum(item_w * model.item_bias**2)
        + data.total_weight * np.sum(model.coef**2)
    )
    return float((squared_error + penalty) / data.total_weight)
