"""The parameters being fitted and the objective they minimise."""

from dataclasses import dataclass, field, fields

import numpy as np

from .._kernels._init import normal_rows
from .._kernels._predict import predict_codes, row_squared_errors
from .._kernels._types import Ratings, Side
from .._ratings import RatingData, SideIndex

# The parameters that enter a prediction linearly; the others enter through products.
_LINEAR = frozenset({"user_bias", "item_bias", "coef"})


@dataclass
class FactorModel:
    """Biases, latent factors, (standardised) feature coefficients, the implicit
    vectors of the implicit-feedback terms: ``item_implicit`` (one per item, summed
    into the vectors of their users) and ``user_implicit`` (one per user, summed into
    the vectors of their items), and the attribute factors: one vector per user
    (item) attribute column, summed into the users' (items') vectors. Each has no rows
    when its term is off.

    The global mean is not part of it: it is fixed to the weighted mean rating and
    subtracted from the targets before any solver runs. The solvers fit ratings
    divided by their spread (see ``TrainingSet``); :meth:`rescaled` turns such a
    model into rating units.
    """

    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    coef: np.ndarray
    item_implicit: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    user_implicit: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    user_attribute_factors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    item_attribute_factors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def copy(self) -> "FactorModel":
        return FactorModel(*(getattr(self, f.name).copy() for f in fields(self)))

    def astype(self, dtype: type) -> "FactorModel":
        """The model with every array in ``dtype`` (copies only where it changes)."""
        return FactorModel(
            *(getattr(self, f.name).astype(dtype, copy=False) for f in fields(self))
        )

    def rescaled(self, scale: float) -> "FactorModel":
        """The model of the ratings multiplied by ``scale``: biases and coefficients
        times ``scale``, every vector times its square root, so that each product of
        a user's and an item's vectors scales by ``scale`` too. New arrays."""
        root = np.sqrt(scale)
        return FactorModel(
            *(
                getattr(self, f.name) * (scale if f.name in _LINEAR else root)
                for f in fields(self)
            )
        )

    def is_finite(self) -> bool:
        return all(np.isfinite(getattr(self, f.name)).all() for f in fields(self))

    def sides(
        self,
        user_vectors: np.ndarray | None = None,
        item_vectors: np.ndarray | None = None,
    ) -> tuple[Side, Side]:
        """The users' and the items' biases and vectors for the kernels: the factors,
        or ``user_vectors`` and ``item_vectors`` in their place."""
        return (
            Side(
                self.user_bias,
                self.user_factors if user_vectors is None else user_vectors,
            ),
            Side(
                self.item_bias,
                self.item_factors if item_vectors is None else item_vectors,
            ),
        )

    def estimate(
        self,
        data: RatingData,
        user_vectors: np.ndarray | None = None,
        item_vectors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Model output for the training ratings, without the global mean.

        ``user_vectors`` and ``item_vectors`` replace the factors (the
        implicit-feedback model passes ``p_u + z_u`` and ``q_i + h_i``).
        """
        out = np.empty(data.n_ratings)
        predict_codes(
            data.user_codes,
            data.item_codes,
            data.feature_term(self.coef),
            *self.sides(user_vectors, item_vectors),
            -np.inf,
            np.inf,
            out,
        )
        return out


def initial_model(
    user_seeds: np.ndarray,
    item_seeds: np.ndarray,
    n_features: int,
    n_components: int,
    implicit_sides: frozenset,
    seed: int,
    init_std: float,
    dtype: type,
    n_attributes: tuple[int, int] = (0, 0),
) -> FactorModel:
    """Zero biases and coefficients (``n_features``), normal factors drawn from each
    id's seed (``user_seeds``, ``item_seeds``) and ``seed``, zero implicit vectors for
    the implicit terms of ``implicit_sides`` and zero attribute factors for
    ``n_attributes`` user and item attribute columns."""
    n_users, n_items, k = user_seeds.shape[0], item_seeds.shape[0], n_components
    user_factors = np.empty((n_users, k), dtype=dtype)
    item_factors = np.empty((n_items, k), dtype=dtype)
    normal_rows(user_seeds, np.uint64(2 * seed), init_std, user_factors)
    normal_rows(item_seeds, np.uint64(2 * seed + 1), init_std, item_factors)
    return FactorModel(
        user_bias=np.zeros(n_users, dtype=dtype),
        item_bias=np.zeros(n_items, dtype=dtype),
        user_factors=user_factors,
        item_factors=item_factors,
        coef=np.zeros(n_features, dtype=dtype),
        # Implicit vectors start at zero: the first epoch sees plain factors, and
        # the implicit steps then start from the residuals.
        item_implicit=np.zeros(
            (n_items if "user" in implicit_sides else 0, k), dtype=dtype
        ),
        user_implicit=np.zeros(
            (n_users if "item" in implicit_sides else 0, k), dtype=dtype
        ),
        user_attribute_factors=np.zeros((n_attributes[0], k), dtype=dtype),
        item_attribute_factors=np.zeros((n_attributes[1], k), dtype=dtype),
    )


def row_norms(matrix: np.ndarray) -> np.ndarray:
    """The squared norm of each row, summed in float64 whatever the storage
    precision: with the rows' weights, the terms of the penalty."""
    return np.einsum("ij,ij->i", matrix, matrix, dtype=float)


def penalty(
    model: FactorModel,
    data: RatingData,
    alpha: float,
    alpha_bias: float,
    alpha_implicit: float = 0.0,
) -> float:
    """The regularisation part of the objective (not divided by the total weight).

    ``alpha (sum_u W_u |p_u|^2 + sum_i W_i |q_i|^2) + alpha_implicit (sum_i W_i |y_i|^2
    + sum_u W_u |x_u|^2) + alpha_bias (sum_u W_u b_u^2 + sum_i W_i b_i^2 + W |c|^2)``
    where ``W_u`` is the summed weight of the ratings of user ``u`` (likewise ``W_i``),
    ``W`` the total weight and ``y``, ``x`` the item and user implicit vectors, if any;
    plus ``alpha W |v|^2`` for the attribute factors ``v``, if any.
    """
    user_w, item_w = data.user_weight, data.item_weight
    factor_norms = user_w @ row_norms(model.user_factors) + item_w @ row_norms(
        model.item_factors
    )
    implicit_penalty = 0.0
    if model.item_implicit.shape[0]:
        implicit_penalty += item_w @ row_norms(model.item_implicit)
    if model.user_implicit.shape[0]:
        implicit_penalty += user_w @ row_norms(model.user_implicit)
    factor_norms += data.total_weight * (
        np.square(model.user_attribute_factors, dtype=float).sum()
        + np.square(model.item_attribute_factors, dtype=float).sum()
    )
    return (
        alpha * factor_norms
        + alpha_implicit * implicit_penalty
        + alpha_bias
        * (
            user_w @ np.square(model.user_bias, dtype=float)
            + item_w @ np.square(model.item_bias, dtype=float)
            + data.total_weight * np.square(model.coef, dtype=float).sum()
        )
    )


def objective(
    model: FactorModel,
    data: RatingData,
    alpha: float,
    alpha_bias: float,
    alpha_implicit: float = 0.0,
    user_vectors: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
) -> float:
    """The training objective divided by the total sample weight.

    ``sum_r w_r [e_r^2 + alpha (|p_u|^2 + |q_i|^2) + alpha_bias (b_u^2 + b_i^2 + |c|^2)]``
    summed over the ratings ``r`` of user ``u`` and item ``i``. Penalties therefore grow
    with each row's rating weight, which is what per-rating SGD regularisation (Surprise
    ``SVD``) and weighted-lambda ALS (Spark's ALS-WR) both minimise. ``user_vectors``
    and ``item_vectors`` replace the factors in the errors (with implicit feedback).
    """
    side = data.by_user
    squared_error = side_squared_error(
        side.ratings(data.side_target(side, model.coef)),
        *model.sides(user_vectors, item_vectors),
    )
    return float(
        (squared_error + penalty(model, data, alpha, alpha_bias, alpha_implicit))
        / data.total_weight
    )


def side_squared_error(ratings: Ratings, rows: Side, other: Side) -> float:
    """The weighted squared error of ``ratings`` (grouped by the rows of one side)
    with the biases and vectors ``rows`` of that side and ``other`` of the other.

    Summed per row first, so the total does not depend on the number of threads."""
    per_row = np.empty(ratings.indptr.shape[0] - 1)
    row_squared_errors(ratings, rows, other, per_row)
    return float(np.sum(per_row))


def side_estimates(side: SideIndex, rows: Side, other: Side) -> np.ndarray:
    """``b_row + b_other + p_row . q_other`` of each rating of ``side``, in its order."""
    row_codes = np.repeat(
        np.arange(side.indptr.shape[0] - 1, dtype=np.int32), np.diff(side.indptr)
    )
    out = np.empty(row_codes.shape[0])
    base = np.zeros(row_codes.shape[0])
    predict_codes(row_codes, side.other, base, rows, other, -np.inf, np.inf, out)
    return out
