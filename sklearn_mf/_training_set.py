"""The training ratings of one fit: encoded ids, relative weights, the ratings'
location and scale, standardised features."""

import numpy as np

from ._ids import encode_ids, id_seeds
from ._ratings import RatingData, is_unit_weights
from ._sums import ExactSum, exact_sum
from .utils._validation import RatingInput


def mean_positive_weight(sample_weight: np.ndarray) -> float:
    """The mean of the positive entries of ``sample_weight``.

    The fit divides the weights by it: only their ratios carry information, and
    every solver, the implicit-feedback sums and the Bayesian noise model then see
    the same relative weights whatever constant multiplies them.
    """
    if is_unit_weights(sample_weight):
        return 1.0
    positive = sample_weight[sample_weight > 0]
    return exact_sum(positive) / positive.shape[0]


def weight_total(weight: np.ndarray) -> float:
    """The sum of the (relative) weights, exactly rounded."""
    return float(weight.shape[0]) if is_unit_weights(weight) else exact_sum(weight)


def spread(largest: np.ndarray, squares: np.ndarray, total: float) -> np.ndarray:
    """A weighted standard deviation from the largest absolute deviation
    ``largest`` and the weighted sum ``squares`` of the squared deviations in units
    of it (where ``largest`` is 0, ``squares`` must be of deviations in units of 1);
    0 where all deviations are. Elementwise, for one column or several."""
    unit = np.where(largest > 0, largest, 1.0)
    return unit * np.sqrt(squares / total)


def largest_deviations(values: np.ndarray, mean, weight: np.ndarray) -> np.ndarray:
    """The largest absolute deviation of ``values`` from ``mean`` (per column of a
    2-D array) among the rows of positive weight; 0 when there are none."""
    where = weight > 0 if values.ndim == 1 else (weight > 0)[:, None]
    return np.max(np.abs(values - mean), axis=0, initial=0.0, where=where)


def squared_deviations(
    values: np.ndarray, mean, largest: np.ndarray, weight: np.ndarray
) -> ExactSum:
    """The weighted sum of the squared deviations of ``values`` from ``mean`` in
    units of ``largest`` (1 where it is 0), so that squares of huge or tiny values
    neither overflow nor underflow."""
    unit = np.where(largest > 0, largest, 1.0)
    return ExactSum.of(((values - mean) / unit) ** 2, weight)


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
        # Exact sums: the same statistics for the rows in any order or partition.
        total = weight_total(self.weight)
        self.global_mean = exact_sum(y, self.weight) / total
        largest = largest_deviations(y, self.global_mean, self.weight)
        scale = spread(
            largest,
            squared_deviations(y, self.global_mean, largest, self.weight).value(),
            total,
        )
        self.rating_scale = float(scale) if scale > 0 else 1.0
        rated = self.weight > 0
        self.rating_range = (
            float(np.min(y, where=rated, initial=np.inf)),
            float(np.max(y, where=rated, initial=-np.inf)),
        )
        # Features are standardised with the weighted moments so that alpha_bias acts
        # on every column alike and integer weights equal repeated rows.
        features = ratings.features
        weight = self.weight
        self.feature_mean = exact_sum(features, weight) / total
        feature_largest = largest_deviations(features, self.feature_mean, weight)
        scale = spread(
            feature_largest,
            squared_deviations(
                features, self.feature_mean, feature_largest, weight
            ).value(),
            total,
        )
        self.constant_features = scale == 0
        self.feature_scale = np.where(self.constant_features, 1.0, scale)
        centred = features - self.feature_mean
        self.features = np.ascontiguousarray(centred / self.feature_scale)

    @property
    def user_seeds(self) -> np.ndarray:
        """A well-mixed seed per user, the same for that id in any fit."""
        return id_seeds(self.users)

    @property
    def item_seeds(self) -> np.ndarray:
        """A well-mixed seed per item, the same for that id in any fit."""
        return id_seeds(self.items)

    def standardised(self, rating: float) -> float:
        """A rating in the standardised units the solvers fit."""
        return (rating - self.global_mean) / self.rating_scale

    def rating_data(self, n_components: int, n_chunks: int) -> RatingData:
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
            n_components,
            n_chunks,
        )
