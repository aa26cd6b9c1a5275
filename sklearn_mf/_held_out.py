"""Held-out ratings: the slice that early stopping and ``alpha="auto"`` score a fit on.

The held-out ratings are scored through the one predict path
(:func:`~sklearn_mf._scoring.predict_rows`), in the standardised units the solvers
fit, as a callback after each epoch in the manner of scikit-learn's SGD estimators.
"""

from collections.abc import Callable

import numpy as np

from ._attributes import SideAttributes
from ._ids import lookup_codes
from ._ratings import is_unit_weights, unit_weights
from ._scoring import EncodedRows, Predictor, SideModel, predict_rows
from ._solvers import FactorModel
from ._training_set import TrainingSet
from .utils._validation import RatingInput

# (ratings, y, sample_weight) of the held-out slice.
Validation = tuple[RatingInput, np.ndarray, np.ndarray]


def split_held_out(
    ratings: RatingInput,
    y: np.ndarray,
    sample_weight: np.ndarray,
    fraction: float,
    seed: int,
) -> tuple[RatingInput, np.ndarray, np.ndarray, Validation] | None:
    """``(ratings, y, sample_weight, validation)`` with ``fraction`` of the rows held
    out at random as ``validation``; None when no row could be held out, or none
    with positive weight would be left for training."""
    n_samples = ratings.n_samples
    n_validation = int(np.ceil(fraction * n_samples))
    if n_validation >= n_samples:
        return None
    order = np.random.RandomState(seed).permutation(n_samples)
    parts = [np.sort(order[n_validation:]), np.sort(order[:n_validation])]
    (train_ratings, val_ratings) = (
        RatingInput(ratings.users[p], ratings.items[p], ratings.features[p])
        for p in parts
    )
    train_weight, val_weight = (_weight_subset(sample_weight, p) for p in parts)
    if not train_weight.any():
        return None
    validation = (val_ratings, y[parts[1]], val_weight)
    return train_ratings, y[parts[0]], train_weight, validation


def _weight_subset(weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``weight[rows]``, where unit weights stay a zero-stride view: the fit of the
    slice then takes the kernels' unit-weight specialisations, which the whole
    fit compiles anyway (a materialised array of ones made the first fit in a fresh
    environment compile the CG half-step twice), and no array of ones is made."""
    if is_unit_weights(weight):
        return unit_weights(rows.shape[0])
    return weight[rows]


class HeldOutScore:
    """The held-out ratings of a fit on ``train_set``, ready to score its models.

    ``errors(model, vectors)`` is the squared error of each held-out rating in
    standardised units, times its weight over their mean (so that the mean of these
    is the weighted mean squared error); ``vectors`` are the model's full user and
    item vectors. Unknown held-out ids are described by their attributes when
    ``attributes`` are given, as ``predict`` describes them.
    """

    def __init__(
        self,
        train_set: TrainingSet,
        validation: Validation,
        clip: bool,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ):
        ratings, y, weight = validation
        self.relative_weight = weight / weight.mean() if weight.any() else 1.0
        self.rows = EncodedRows(
            lookup_codes(train_set.users, ratings.users),
            lookup_codes(train_set.items, ratings.items),
            (ratings.features - train_set.feature_mean) / train_set.feature_scale,
        )
        self.target = (y - train_set.global_mean) / train_set.rating_scale
        self.bounds = (
            tuple(map(train_set.standardised, train_set.rating_range))
            if clip
            else (-np.inf, np.inf)
        )
        self.attributes = attributes
        self.rating_scale = train_set.rating_scale

    def _side(self, index: int, bias, vectors, attribute_factors) -> SideModel:
        if self.attributes is None:
            return SideModel(bias, vectors, np.zeros(0, dtype=np.int64))
        return SideModel(
            bias, vectors, self.attributes[index].columns, attribute_factors
        )

    def errors(
        self, model: FactorModel, vectors: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        predictor = Predictor(
            0.0,
            0.0,
            model.coef,
            self._side(0, model.user_bias, vectors[0], model.user_attribute_factors),
            self._side(1, model.item_bias, vectors[1], model.item_attribute_factors),
            *self.bounds,
        )
        return (
            self.relative_weight
            * (self.target - predict_rows(predictor, self.rows)) ** 2
        )

    def rmse_callback(
        self, full_vectors: Callable[[FactorModel], tuple[np.ndarray, np.ndarray]]
    ) -> Callable[[FactorModel], float]:
        """The validation RMSE (in rating units) of a model, for early stopping;
        ``full_vectors`` is the solver's."""
        return lambda model: float(
            np.sqrt(self.errors(model, full_vectors(model)).mean()) * self.rating_scale
        )
