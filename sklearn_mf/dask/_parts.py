"""What the tasks of a distributed fit do with one partition of the ratings: validate
it, summarise it (distinct ids, weighted moments), and cut it into the pieces that
the user and item blocks gather. NumPy only; ``_fit.py`` submits these."""

from dataclasses import dataclass
from inspect import signature
from typing import NamedTuple

import numpy as np

from .._ids import canonical_ids, encode_ids, lookup_codes
from .._mf import MatrixFactorization
from .._ratings import unit_weights
from .._sums import ExactSum
from .._training_set import largest_deviations, squared_deviations
from ..utils._sklearn import _check_sample_weight
from ..utils._validation import check_magnitude


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
    """Validate one partition as ``MatrixFactorization.fit`` validates its input.

    An empty partition (Dask DataFrames often have some, after a filter) is no
    ratings rather than an error."""
    if len(X) == 0 and y is not None and len(y) == 0:
        n_features = max(np.shape(X)[1] - 2, 0) if np.ndim(X) == 2 else 0
        empty_ids = np.zeros(0, dtype=np.int64)
        return Part(
            empty_ids,
            empty_ids,
            np.zeros((0, n_features)),
            np.zeros(0),
            None if sample_weight is None else np.zeros(0),
        )
    ratings, y, _, _ = MatrixFactorization()._validate_fit_input(X, y, None)
    return Part(
        ratings.users,
        ratings.items,
        ratings.features,
        y,
        None if sample_weight is None else _part_weight(sample_weight, y),
    )


def _part_weight(sample_weight, y: np.ndarray) -> np.ndarray:
    """A partition's sample weights, validated as ``fit`` validates them, except
    that they may all be zero: only all the partitions' weights together must not
    (checked by the fit)."""
    zeros_allowed = (
        {"allow_all_zero_weights": True}
        if "allow_all_zero_weights" in signature(_check_sample_weight).parameters
        else {}
    )
    weight = _check_sample_weight(
        sample_weight, y, dtype=np.float64, ensure_non_negative=True, **zeros_allowed
    )
    check_magnitude(weight, "sample_weight")
    return weight


def distinct_ids(ids: list[np.ndarray], name: str) -> np.ndarray:
    """The sorted distinct ids of several partitions' (canonical) ids: a step of the
    tree reduction that indexes the users (``name="user"``) or the items."""
    # Empty partitions' ids are int64, which dates and time spans do not mix with.
    ids = [part for part in ids if part.size] or ids[:1]
    return encode_ids(canonical_ids(np.concatenate(ids), name))[0]


@dataclass(frozen=True)
class WeightMoments:
    """What one partition tells of the weights and the rating range: whether it
    had sample weights, the exact sum and the number of its positive weights, and
    its least and greatest rating of positive weight."""

    n_ratings: int
    weighted: bool
    positive_weight: ExactSum
    n_positive: int
    low: float
    high: float


def _weight(part: Part) -> np.ndarray:
    return unit_weights(part.y.shape[0]) if part.weight is None else part.weight


def weight_moments(part: Part) -> WeightMoments:
    weight = _weight(part)
    rated = weight > 0
    return WeightMoments(
        part.y.shape[0],
        part.weight is not None,
        ExactSum.of(weight[rated]),
        int(rated.sum()),
        float(np.min(part.y, where=rated, initial=np.inf)),
        float(np.max(part.y, where=rated, initial=-np.inf)),
    )


@dataclass(frozen=True)
class Standardisation:
    """How a fit turns ratings, weights and features into the solvers' units (see
    ``TrainingSet``, whose exactly rounded sums these are): relative weights
    ``w / weight_scale``, targets ``(y - global_mean) / rating_scale``, features
    ``(x - feature_mean) / feature_scale``. The means and scales are None until
    known: each takes one pass over the partitions."""

    weight_scale: float
    global_mean: float | None = None
    rating_scale: float | None = None
    feature_mean: np.ndarray | None = None
    feature_scale: np.ndarray | None = None

    def weight(self, part: Part) -> np.ndarray:
        if part.weight is None or self.weight_scale == 1.0:
            return _weight(part)
        return part.weight / self.weight_scale


class Sums(NamedTuple):
    """One partition's exact sums: of the relative weights, of the weighted ratings
    and of each weighted feature column."""

    weight: ExactSum
    rating: ExactSum
    features: ExactSum


def sums(part: Part, standardisation: Standardisation) -> Sums:
    weight = standardisation.weight(part)
    return Sums(
        ExactSum.of(weight),
        ExactSum.of(part.y, weight),
        ExactSum.of(part.features, weight),
    )


def largest(part: Part, standardisation: Standardisation) -> tuple:
    """The largest absolute deviations of the ratings and of each feature column
    from their means, in one partition."""
    weight = standardisation.weight(part)
    return (
        largest_deviations(part.y, standardisation.global_mean, weight),
        largest_deviations(part.features, standardisation.feature_mean, weight),
    )


def squares(
    part: Part, standardisation: Standardisation, largest: tuple
) -> tuple[ExactSum, ExactSum]:
    """One partition's weighted sums of squared deviations, in units of the
    largest deviations over all partitions."""
    weight = standardisation.weight(part)
    return (
        squared_deviations(part.y, standardisation.global_mean, largest[0], weight),
        squared_deviations(
            part.features, standardisation.feature_mean, largest[1], weight
        ),
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
        None if part.weight is None else standardisation.weight(part),
        features,
    )


def code_counts(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Ratings per code: summed over the partitions, they balance the blocks."""
    return np.bincount(codes, minlength=n_codes)


def cut_by_blocks(part: Encoded, side: str, bounds: np.ndarray) -> list[Encoded]:
    """The ratings of ``part`` cut by the blocks of ``side`` (``"user"`` or
    ``"item"``), whose codes start at ``bounds[b]``: one piece per block, in the
    partition's order."""
    codes = part.user_codes if side == "user" else part.item_codes
    block = np.searchsorted(bounds, codes, side="right") - 1
    return [part.rows(block == b) for b in range(bounds.shape[0] - 1)]
