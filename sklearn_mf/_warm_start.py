"""Starting a fit from an earlier one: ``warm_start``, and the fit of all the ratings
from the ``alpha="auto"`` search's fit of most of them."""

import numpy as np

from ._attributes import SideAttributes
from ._ids import lookup_codes
from ._solvers import FactorModel
from ._state import FittedState
from ._training_set import TrainingSet


def carry_over(
    model: FactorModel,
    train_set: TrainingSet,
    source: FactorModel,
    source_users: np.ndarray,
    source_items: np.ndarray,
) -> None:
    """Give the ids of ``train_set`` that ``source`` knows (``source_users``,
    ``source_items``) their biases, factors and implicit vectors in ``source``, and
    ``model`` the coefficients of ``source`` when they are as many."""
    for ids, source_ids, rows, source_rows in (
        (
            train_set.users,
            source_users,
            (model.user_bias, model.user_factors, model.user_implicit),
            (source.user_bias, source.user_factors, source.user_implicit),
        ),
        (
            train_set.items,
            source_items,
            (model.item_bias, model.item_factors, model.item_implicit),
            (source.item_bias, source.item_factors, source.item_implicit),
        ),
    ):
        codes = lookup_codes(source_ids, ids)
        known = codes >= 0
        for values, source_values in zip(rows, source_rows, strict=True):
            # Implicit vectors only where both models have the term.
            if values.shape[0] and source_values.shape[0]:
                values[known] = source_values[codes[known]]
    if model.coef.size == source.coef.size:
        model.coef[:] = source.coef


def _or_empty(values: np.ndarray | None, empty: np.ndarray, scale=1.0) -> np.ndarray:
    return empty if values is None else values * scale


def _previous_model(state: FittedState, train_set: TrainingSet) -> FactorModel:
    """The fitted model in the standardised units of ``train_set``; its
    ``user_attribute_factors`` hold the vector of every feature column."""
    n_components = state.users.factors.shape[1]
    no_rows = np.zeros((0, n_components))
    feature_scale = train_set.feature_scale
    if state.coef.size != feature_scale.size:  # not reused: see reuse_previous
        feature_scale = np.ones(state.coef.size)
    return FactorModel(
        user_bias=state.users.bias,
        item_bias=state.items.bias,
        user_factors=state.users.factors,
        item_factors=state.items.factors,
        coef=state.coef * feature_scale,
        item_implicit=_or_empty(state.items.implicit, no_rows),
        user_implicit=_or_empty(state.users.implicit, no_rows),
        user_attribute_factors=_or_empty(
            state.feature_factors, no_rows, scale=feature_scale[:, None]
        ),
    ).rescaled(1.0 / train_set.rating_scale)


def reuse_previous(
    state: FittedState,
    train_set: TrainingSet,
    model: FactorModel,
    attributes: tuple[SideAttributes, SideAttributes] | None,
) -> None:
    """Start ``model`` from the fitted ``state`` where they share ids (and feature
    columns that describe the same side), for ``warm_start``."""
    n_components = model.user_factors.shape[1]
    if state.users.factors.shape[1] != n_components:
        raise ValueError(
            f"warm_start=True needs the same n_components as the previous fit "
            f"({state.users.factors.shape[1]}), got {n_components}."
        )
    previous = _previous_model(state, train_set)
    carry_over(model, train_set, previous, state.users.ids, state.items.ids)
    if (
        attributes is None
        or state.feature_factors is None
        or model.coef.size != state.coef.size
    ):
        return
    for side, side_attributes, vectors in zip(
        ("user", "item"),
        attributes,
        (model.user_attribute_factors, model.item_attribute_factors),
        strict=True,
    ):
        # A column that describes the same side as before keeps its vector.
        columns = side_attributes.columns
        same = state.feature_sides[columns] == side
        vectors[same] = previous.user_attribute_factors[columns[same]]
