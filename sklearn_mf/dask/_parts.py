"""What the tasks of a distributed fit do with one partition of the ratings: validate
it, summarise it (distinct ids, weighted moments), and cut it into the pieces that
the user and item blocks gather. NumPy only; ``_fit.py`` submits these."""

from dataclasses import dataclass

import numpy as np

from .._ids import canonical_ids, encode_ids, lookup_codes
from .._mf import MatrixFactorization
from .._ratings import is_unit_weights


@dataclass(frozen=True)
class Part:
    """One validated partition: canonical user and item ids, features, ratings, and
    sample weights (None when none were given)."""

    users: np.ndarray
    items: np.ndarray
    features: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None


def validated_part(X, y, sample_weight) -> Part:
    """Validate one partition as ``MatrixFactorization.fit`` validates its input."""
    ratings, y, weight, _ = MatrixFactorization()._validate_fit_input(
        X, y, sample_weight
    )
    return Part(
        ratings.users,
        ratings.items,
        ratings.features,
        y,
        None if is_unit_weights(weight) else weight,
    )


def distinct_ids(ids: list[np.ndarray], name: str) -> np.ndarray:
    """The sorted distinct ids of several partitions' (canonical) ids: a step of the
    tree reduction that indexes the users (``name="user"``) or the items."""
    return encode_ids(canonical_ids(np.concatenate(ids), name))[0]


@dataclass(frozen=True)
class Moments:
    """The sums of one partition from which a fit's weight scale, global mean,
    rating range and feature means follow (weights as given)."""

    n_ratings: int
    weighted: bool  # whether sample weights were given
    positive_weight: float  # sum of the positive weights
    n_positive: int
    weight: float
    weighted_rating: float
    low: float  # least and greatest rating of positive weight
    high: float
    weighted_features: np.ndarray


def moments(part: Part) -> Moments:
    n = part.y.shape[0]
    weight = np.ones(n) if part.weight is None else part.weight
    rated = weight > 0
    return Moments(
        n,
        part.weight is not None,
        float(weight[rated].sum()),
        int(rated.sum()),
        float(weight.sum()),
        float(weight @ part.y),
        float(np.min(part.y, where=rated, initial=np.inf)),
        float(np.max(part.y, where=rated, initial=-np.inf)),
        part.features.T @ weight,
    )


@dataclass(frozen=True)
class Standardisation:
    """How a fit turns ratings, weights and features into the solvers' units (see
    ``TrainingSet``): relative weights ``w / weight_scale``, targets
    ``(y - global_mean) / rating_scale``, features ``(x - feature_mean) /
    feature_scale``."""

    weight_scale: float
    global_mean: float
    rating_scale: float
    feature_mean: np.ndarray
    feature_scale: np.ndarray

    def weight(self, part: Part) -> np.ndarray | None:
        if part.weight is None or self.weight_scale == 1.0:
            return part.weight
        return part.weight / self.weight_scale


@dataclass(frozen=True)
class Spread:
    """One partition's largest absolute deviation from the mean, of the ratings and
    of each feature column, and the weighted sum of squared deviations in units of
    it (so that no square overflows; see ``rating_spread``)."""

    largest: float
    squares: float
    feature_largest: np.ndarray
    feature_squares: np.ndarray


def spread(part: Part, standardisation: Standardisation) -> Spread:
    """The spread of ``part`` around the means of ``standardisation`` (whose scales
    are not known yet)."""
    weight = standardisation.weight(part)
    if weight is None:
        weight = np.ones(part.y.shape[0])
    rated = weight > 0
    deviation = part.y - standardisation.global_mean
    largest = float(np.max(np.abs(deviation), where=rated, initial=0.0))
    unit = largest if largest > 0 else 1.0
    centred = part.features - standardisation.feature_mean
    feature_largest = np.max(np.abs(centred), axis=0, initial=0.0, where=rated[:, None])
    feature_unit = np.where(feature_largest > 0, feature_largest, 1.0)
    return Spread(
        largest,
        float(weight @ (deviation / unit) ** 2),
        feature_largest,
        ((centred / feature_unit) ** 2).T @ weight,
    )


def combined_scale(
    largest: np.ndarray, squares: np.ndarray, total_weight: float
) -> np.ndarray:
    """The weighted standard deviation from the partitions' :class:`Spread` parts
    (``largest`` and ``squares`` stacked along axis 0): 0 where all deviations are."""
    overall = largest.max(axis=0)
    unit = np.where(overall > 0, overall, 1.0)
    part_unit = np.where(largest > 0, largest, 1.0)
    return unit * np.sqrt(
        ((part_unit / unit) ** 2 * squares).sum(axis=0) / total_weight
    )


@dataclass(frozen=True)
class Encoded:
    """A partition in the solvers' terms: global user and item codes, ratings,
    relative weights (None: all one) and standardised features."""

    user_codes: np.ndarray
    item_codes: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None
    features: np.ndarray

    def rows(self, keep: np.ndarray) -> "Encoded":
        return Encoded(
            self.user_codes[keep],
            self.item_codes[keep],
            self.y[keep],
            None if self.weight is None else self.weight[keep],
            self.features[keep],
        )


def encoded(
    part: Part,
    users: np.ndarray,
    items: np.ndarray,
    standardisation: Standardisation,
) -> Encoded:
    """``part`` with its ids coded by their positions in the fit's sorted ``users``
    and ``items``."""
    features = (part.features - standardisation.feature_mean) / (
        standardisation.feature_scale
    )
    return Encoded(
        lookup_codes(users, part.users),
        lookup_codes(items, part.items),
        part.y,
        standardisation.weight(part),
        features,
    )


def code_counts(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Ratings per code: summed over the partitions, they balance the blocks."""
    return np.bincount(codes, minlength=n_codes)


def pieces(part: Encoded, side: str, bounds: np.ndarray) -> list[Encoded]:
    """The ratings of ``part`` cut by the blocks of ``side`` (``"user"`` or
    ``"item"``), whose codes start at ``bounds[b]``: one piece per block, in the
    partition's order."""
    codes = part.user_codes if side == "user" else part.item_codes
    block = np.searchsorted(bounds, codes, side="right") - 1
    return [part.rows(block == b) for b in range(bounds.shape[0] - 1)]
