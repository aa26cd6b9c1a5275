"""Plumbing shared by the factorization estimators: input contract, fitted state,
prediction."""

import dataclasses
from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data

from ._ids import lookup_codes, warn_if_mistyped
from ._ratings import unit_weights
from ._recommend import RecommenderMixin
from ._scoring import EncodedRows, Predictor, SideModel, predict_rows
from ._state import FittedAttribute, FittedState, freeze
from .utils._sklearn import Interval, _check_sample_weight, _get_feature_names
from .utils._threads import numba_threads
from .utils._validation import (
    RatingInput,
    as_2d,
    check_magnitude,
    split_rating_columns,
)

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


class InputMetadata(NamedTuple):
    """What ``fit`` records of its ``X``: the number of columns and, when they are
    all strings, the column names (as scikit-learn's ``validate_data`` does)."""

    n_features: int
    feature_names: np.ndarray | None


def encode_rows(state: FittedState, ratings: RatingInput) -> EncodedRows:
    """The rows of ``ratings`` as codes of the fitted ids (-1 for unknown ones),
    with a warning when most ids of a column are unknown and of another type than
    the fitted ones (called from a public method: the warning points at its
    caller)."""
    codes = []
    for fitted, ids, name in (
        (state.users.ids, ratings.users, "user"),
        (state.items.ids, ratings.items, "item"),
    ):
        codes.append(lookup_codes(fitted, ids))
        warn_if_mistyped(fitted, ids, codes[-1], name, stacklevel=3)
    return EncodedRows(*codes, ratings.features)


def fitted_predictor(state: FittedState, clip: bool) -> Predictor:
    """The fitted model as :func:`~sklearn_mf._scoring.predict_rows` reads it: with
    ``feature_factors``, unknown ids are described by their attributes."""
    described = state.feature_factors is not None

    def side(name: str) -> SideModel:
        columns = state.attribute_columns(name)
        factors = state.feature_factors[columns] if described else None
        return SideModel(
            state.side(name).bias, state.side(name).vectors, columns, factors
        )

    lower, upper = state.rating_range if clip else (-np.inf, np.inf)
    return Predictor(
        state.global_mean,
        state.feature_mean,
        state.coef,
        side("user"),
        side("item"),
        lower,
        upper,
    )


class FittedAttributes:
    """The fitted attributes every factorization model has: read-only views of its
    fitted state (``_state``, which ``fit`` installs)."""

    global_mean_ = FittedAttribute(lambda state: state.global_mean)
    rating_scale_ = FittedAttribute(lambda state: state.rating_scale)
    users_ = FittedAttribute(lambda state: state.users.ids)
    items_ = FittedAttribute(lambda state: state.items.ids)
    user_bias_ = FittedAttribute(lambda state: state.users.bias)
    item_bias_ = FittedAttribute(lambda state: state.items.bias)
    user_factors_ = FittedAttribute(lambda state: state.users.factors)
    item_factors_ = FittedAttribute(lambda state: state.items.factors)
    coef_ = FittedAttribute(lambda state: state.coef)
    rating_range_ = FittedAttribute(lambda state: state.rating_range)
    n_iter_ = FittedAttribute(lambda state: state.n_iter)
    n_features_in_ = FittedAttribute(lambda state: state.n_features_in)
    feature_names_in_ = FittedAttribute(
        lambda state: state.feature_names_in, optional=True
    )

    def __sklearn_is_fitted__(self) -> bool:
        return "_state" in self.__dict__


class BaseFactorization(
    FittedAttributes, RecommenderMixin, RegressorMixin, BaseEstimator
):
    """Base class: validation of ``X``/``y``/``sample_weight``, the fitted state,
    predict.

    Subclasses implement ``fit``, which builds a
    :class:`~sklearn_mf._state.FittedState` and installs it with :meth:`_install`,
    its last step: nothing of a fit (``n_features_in_`` included) reaches the
    estimator before, so a fit that raises leaves it as it was. The fitted
    attributes are views of that state.
    """

    # Integer parameters that count something: a bool passes scikit-learn's Integral
    # check (True is 1) but is a mistake there.
    _count_parameters: tuple[str, ...] = ()

    def _check_counts(self) -> None:
        for name in self._count_parameters:
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be an int, not a bool; got {value}.")

    def _install(self, state: FittedState, metadata: InputMetadata | None = None):
        """Make ``state`` the fitted model, with its arrays read-only and, from
        ``fit``, the metadata of its ``X``: in one assignment."""
        if metadata is not None:
            state = dataclasses.replace(
                state,
                n_features_in=metadata.n_features,
                feature_names_in=metadata.feature_names,
            )
        self._state = freeze(state)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "_state" in self.__dict__:
            freeze(self._state)  # unpickled arrays come back writeable
        elif "users_" in self.__dict__:
            raise ValueError(
                f"This {type(self).__name__} was saved by an earlier version of "
                "sklearn-mf, whose fitted model this version cannot read; fit it again."
            )

    def _validate_X(self, X) -> RatingInput:
        """Validate ``X`` against the ``X`` of ``fit``."""
        X = as_2d(X)
        # sklearn's check of the column count and names comes first, so that predict
        # on a differently shaped X gets its standard message.
        validate_data(self, X, skip_check_array=True, reset=False)
        return split_rating_columns(X, type(self).__name__)

    def _validate_new_X(self, X) -> tuple[RatingInput, InputMetadata]:
        """Validate the ``X`` of ``fit``; return it with the metadata the fitted
        state records, which nothing sets on the estimator before the fit ends."""
        X = as_2d(X)
        metadata = InputMetadata(X.shape[1], _get_feature_names(X))
        return split_rating_columns(X, type(self).__name__), metadata

    def _validate_fit_input(
        self, X, y, sample_weight, *, reset: bool = True
    ) -> tuple[RatingInput, np.ndarray, np.ndarray, InputMetadata | None]:
        """``(ratings, y, sample_weight, metadata)``, validated; ``metadata`` for the
        ``X`` of ``fit`` (``reset``), None when ``X`` must match it instead."""
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the "
                "target y is None."
            )
        if reset:
            ratings, metadata = self._validate_new_X(X)
        else:
            ratings, metadata = self._validate_X(X), None
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        check_consistent_length(ratings.users, y)
        check_magnitude(y, "y")
        if sample_weight is None:
            # No rating-sized array of ones: the solvers read this view instead.
            return ratings, y, unit_weights(y.shape[0]), metadata
        sample_weight = _check_sample_weight(
            sample_weight, y, dtype=np.float64, ensure_non_negative=True
        )
        check_magnitude(sample_weight, "sample_weight")
        return ratings, y, sample_weight, metadata

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
        state = self._state  # read once: a concurrent partial_fit swaps it whole
        rows = encode_rows(state, self._validate_X(X))
        return self._predict_mean(state, rows)

    def _predict_mean(self, state: FittedState, rows: EncodedRows) -> np.ndarray:
        n_rows = rows.user_codes.shape[0]
        with numba_threads(getattr(self, "n_jobs", None), work=n_rows):
            return predict_rows(fitted_predictor(state, self.clip), rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags
