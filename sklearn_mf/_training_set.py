"""The training ratings of one fit: encoded ids, relative weights, the ratings'
location and scale, standardised features."""

import numpy as np

from ._ids import encode_ids, id_seeds
from ._ratings import RatingData, is_unit_weights
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
        # Scaled by each column's largest deviation first, as in rating_spread, so
        # that squares of tiny (or huge) values neither underflow nor overflow.
        largest = np.max(
            np.abs(centred), axis=0, initial=0.0, where=weight[:, None] > 0
        )
        unit = np.where(largest > 0, largest, 1.0)
        scale = unit * np.sqrt(((centred / unit) ** 2).T @ weight / weight.sum())
        self.constant_features = scale == 0
        self.feature_scale = np.where(self.constant_features, 1.0, scale)
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
