"""Plumbing shared by the factorization estimators: input contract, ids, prediction."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data

from ._attributes import attribute_part, describe_unknown
from ._ids import encode_ids, id_seeds, lookup_codes
from ._kernels._init import normal_rows
from ._kernels._predict import predict_codes
from ._ratings import RatingData, _is_unit_weights, unit_weights
from ._recommend import RecommenderMixin
from ._solvers import FactorModel
from .utils._sklearn import Interval, _check_sample_weight
from .utils._threads import numba_threads
from .utils._validation import RatingInput, as_2d, split_rating_columns

# Upper bound of the seeds drawn from random_state for the fit's generators.
SEED_MAX = np.iinfo(np.int32).max

# The parameter constraints every estimator of the library shares.
COMMON_CONSTRAINTS: dict = {
    "n_jobs": [
        Interval(Integral, None, -1, closed="right"),
        Interval(Integral, 1, None, closed="left"),
        None,
    ],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def mean_positive_weight(sample_weight: np.ndarray) -> float:
    """The mean of the positive entries of ``sample_weight``.

    The fit divides the weights by it: only their ratios carry information, and
    every solver, the implicit-feedback sums and the Bayesian noise model then see
    the same relative weights whatever constant multiplies them.
    """
    if _is_unit_weights(sample_weight):
        return 1.0
    positive = sample_weight[sample_weight > 0]
    return float(positive.sum() / positive.shape[0])


def rating_spread(y: np.ndarray, mean: float, weight: np.ndarray) -> float:
    """Weighted standard deviation of the ratings ``y`` around ``mean``; 1.0 when
    they are all equal, so that standardising by it never divides by zero."""
    deviation = y - mean
    # Scaled by the largest deviation first, so that squares of huge ratings do not
    # overflow.
    largest = float(np.max(np.abs(deviation), where=weight > 0, initial=0.0))
    if largest == 0.0:
        return 1.0
    return largest * float(
        np.sqrt(np.average((deviation / largest) ** 2, weights=weight))
    )


class TrainingSet:
    """Encoded training ratings: codes, relative weights (``sample_weight`` over
    ``weight_scale``), the ratings' location and scale, standardised features.

    The solvers fit the standardised ratings ``(y - global_mean) / rating_scale``, so
    that their penalties, initial vectors and step sizes mean the same on any rating
    scale; the estimators turn the fitted model back into rating units.
    """

    def __init__(self, ratings: RatingInput, y: np.ndarray, sample_weight: np.ndarray):
        self.users, self.user_codes = encode_ids(ratings.users)
        self.items, self.item_codes = encode_ids(ratings.items)
        self.weight_scale = mean_positive_weight(sample_weight)
        self.weight = (
            sample_weight
            if self.weight_scale == 1.0
            else sample_weight / self.weight_scale
        )
        self.y = y
        self.global_mean = float(np.average(y, weights=self.weight))
        self.rating_scale = rating_spread(y, self.global_mean, self.weight)
        rated = self.weight > 0
        self.rating_range = (
            float(np.min(y, where=rated, initial=np.inf)),
            float(np.max(y, where=rated, initial=-np.inf)),
        )
        # Features are standardised with the weighted moments so that alpha_bias acts
        # on every column alike and integer weights equal repeated rows.
        features = ratings.features
        weight = self.weight
        self.feature_mean = features.T @ weight / weight.sum()
        centred = features - self.feature_mean
        scale = np.sqrt((centred**2).T @ weight / weight.sum())
        self.feature_scale = np.where(scale > 0, scale, 1.0)
        self.features = np.ascontiguousarray(centred / self.feature_scale)

    def standardised(self, rating: float) -> float:
        """A rating in the standardised units the solvers fit."""
        return (rating - self.global_mean) / self.rating_scale

    def rating_data(self, n_factors: int, n_chunks: int) -> RatingData:
        """The ratings indexed for the solvers (built lazily, see ``RatingData``)."""
        return RatingData(
            self.user_codes,
            self.item_codes,
            self.y,
            self.global_mean,
            self.rating_scale,
            self.weight,
            self.features,
            len(self.users),
            len(self.items),
            n_factors,
            n_chunks,
        )


def implicit_sides(option: bool | str) -> frozenset:
    """The sides whose vectors get an implicit term, for ``implicit_feedback``."""
    if not isinstance(option, str):  # True means Koren's SVD++: the users' term
        option = "users" if option else None
    if option == "both":
        return frozenset({"users", "items"})
    return frozenset({option}) if option else frozenset()


def initial_model(
    train_set: TrainingSet,
    n_components: int,
    sides: frozenset,
    seed: int,
    init_std: float,
    dtype: type,
    n_attributes: tuple[int, int] = (0, 0),
) -> FactorModel:
    """Zero biases and coefficients, normal factors drawn from each id's seed, zero
    implicit vectors for the implicit terms in ``sides`` and zero attribute factors
    for ``n_attributes`` user and item attribute columns."""
    n_users, n_items, k = len(train_set.users), len(train_set.items), n_components
    user_factors = np.empty((n_users, k), dtype=dtype)
    item_factors = np.empty((n_items, k), dtype=dtype)
    normal_rows(id_seeds(train_set.users), np.uint64(2 * seed), init_std, user_factors)
    normal_rows(
        id_seeds(train_set.items), np.uint64(2 * seed + 1), init_std, item_factors
    )
    return FactorModel(
        user_bias=np.zeros(n_users, dtype=dtype),
        item_bias=np.zeros(n_items, dtype=dtype),
        user_factors=user_factors,
        item_factors=item_factors,
        coef=np.zeros(train_set.features.shape[1], dtype=dtype),
        # Implicit vectors start at zero: the first epoch sees plain factors, and
        # the implicit steps then start from the residuals.
        item_implicit=np.zeros((n_items if "users" in sides else 0, k), dtype=dtype),
        user_implicit=np.zeros((n_users if "items" in sides else 0, k), dtype=dtype),
        user_attribute_factors=np.zeros((n_attributes[0], k), dtype=dtype),
        item_attribute_factors=np.zeros((n_attributes[1], k), dtype=dtype),
    )


class BaseFactorization(RecommenderMixin, RegressorMixin, BaseEstimator):
    """Base class: validation of ``X``/``y``/``sample_weight``, id encoding, predict.

    Subclasses implement ``fit``; after it they must have set ``global_mean_``,
    ``user_bias_``, ``item_bias_``, ``user_factors_``, ``item_factors_``, ``users_``,
    ``items_``, ``coef_``, ``rating_range_`` and the private ``_feature_mean``, and
    called ``_remember_seen`` (for ``recommend``).
    """

    def _validate_X(self, X, *, reset: bool) -> RatingInput:
        X = as_2d(X)
        # sklearn's check of the column count and names comes first, so that predict
        # on a differently shaped X gets its standard message.
        validate_data(self, X, skip_check_array=True, reset=reset)
        return split_rating_columns(X, type(self).__name__)

    def _validate_fit_input(
        self, X, y, sample_weight, *, reset: bool = True
    ) -> tuple[RatingInput, np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the "
                "target y is None."
            )
        ratings = self._validate_X(X, reset=reset)
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        check_consistent_length(ratings.users, y)
        if sample_weight is None:
            # No rating-sized array of ones: the solvers read this view instead.
            return ratings, y, unit_weights(y.shape[0])
        sample_weight = _check_sample_weight(
            sample_weight, y, dtype=np.float64, ensure_non_negative=True
        )
        return ratings, y, sample_weight

    def _codes(self, ratings: RatingInput) -> tuple[np.ndarray, np.ndarray]:
        return lookup_codes(self.users_, ratings.users), lookup_codes(
            self.items_, ratings.items
        )

    def _prediction_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The user and item vectors whose dot products ``predict`` adds."""
        return self.user_factors_, self.item_factors_

    def predict(self, X) -> np.ndarray:
        """Predict the rating of each (user, item) row of ``X``.

        Unknown ids never raise. An unknown user is predicted as
        ``global_mean_ + item_bias_[item]`` plus the feature term, an unknown item as
        ``global_mean_ + user_bias_[user]`` plus the feature term, and a pair of unknown
        ids as ``global_mean_`` plus the feature term. With ``feature_factors=True``,
        an unknown id gets a latent vector from the attributes in its row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Column 0 holds user ids, column 1 item ids, further columns the same
            numeric side features as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted ratings, clipped to ``rating_range_`` unless ``clip=False``.
        """
        check_is_fitted(self)
        ratings = self._validate_X(X, reset=False)
        return self._predict_mean(ratings, *self._codes(ratings))

    def _predict_mean(
        self, ratings: RatingInput, user_codes: np.ndarray, item_codes: np.ndarray
    ) -> np.ndarray:
        centred = ratings.features - self._feature_mean
        base = self.global_mean_ + centred @ self.coef_
        user_vectors, item_vectors = self._prediction_vectors()
        user_bias, item_bias = self.user_bias_, self.item_bias_
        if getattr(self, "feature_factors_", None) is not None:
            # Only the rows of unknown ids are described: known ids keep their vectors.
            user_codes, user_vectors, user_bias = describe_unknown(
                user_codes,
                user_vectors,
                user_bias,
                lambda rows: attribute_part(self, "user", centred[rows])[0],
            )
            item_codes, item_vectors, item_bias = describe_unknown(
                item_codes,
                item_vectors,
                item_bias,
                lambda rows: attribute_part(self, "item", centred[rows])[0],
            )
        lower, upper = self.rating_range_ if self.clip else (-np.inf, np.inf)
        out = np.empty(ratings.n_samples)
        with numba_threads(getattr(self, "n_jobs", None)):
            predict_codes(
                user_codes,
                item_codes,
                np.ascontiguousarray(base, dtype=np.float64),
                user_bias,
                item_bias,
                user_vectors,
                item_vectors,
                lower,
                upper,
                out,
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags
