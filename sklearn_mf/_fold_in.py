"""``partial_fit``: folding new ratings, users and items into a fitted model.

The fitted model keeps its training ratings grouped by user (item codes, targets in
rating units net of the global mean and the linear feature term, relative weights),
which is what a row's ridge problem needs. Folding in appends the new ratings to that
history, then solves exactly, everything else fixed:

1. every user of the new ratings, against all its ratings so far;
2. every item of the new ratings that ``fit`` did not see, likewise, against the
   updated users.

Items seen by ``fit`` keep their vectors: each already rests on many ratings, a few
new ones hardly move it, and re-solving popular items would cost a good part of an
epoch. The objective is the estimator's, so a folded-in row is what a refit would
give it if nothing else moved.

The result is a new fitted state: the arrays of the old one are never written, so a
concurrent ``predict`` on the old state is unaffected.
"""

import dataclasses

import numpy as np

from ._ids import as_objects, canonical_ids, encode_ids
from ._ratings import group_by_key, is_unit_weights, unit_weights
from ._solvers import solve_rows
from ._state import FittedState, RatingHistory, SideState
from .utils._validation import RatingInput


def _merge_ids(known: np.ndarray, new: np.ndarray, name: str):
    """``(ids, known_codes, new_codes)``: the sorted union of two canonical id arrays
    and the position of each of their entries in it."""
    if known.dtype == new.dtype:
        merged = np.concatenate([known, new])
    else:
        merged = canonical_ids(
            np.concatenate([as_objects(known), as_objects(new)]), name
        )
    ids, codes = encode_ids(merged)
    return ids, codes[: known.shape[0]], codes[known.shape[0] :]


def _reindexed(values: np.ndarray, codes: np.ndarray, n_rows: int) -> np.ndarray:
    """A new array of ``n_rows`` rows with ``values`` at rows ``codes`` (zero
    elsewhere)."""
    if n_rows == values.shape[0]:
        return values.copy()
    out = np.zeros((n_rows,) + values.shape[1:], dtype=values.dtype)
    out[codes] = values
    return out


class _Side:
    """One side's fitted arrays, copied and re-indexed to the merged ids: ``bias``,
    ``factors`` and ``vectors`` (the full ones ``predict`` uses: the factors
    themselves when nothing is summed into them), plus which rows are new in this
    call, which may be re-solved, and their attribute parts."""

    def __init__(self, state: FittedState, name: str, new_ids: np.ndarray):
        self.name = name
        fitted = state.side(name)
        self.ids, self.known_codes, self.codes = _merge_ids(fitted.ids, new_ids, name)
        n_rows = self.ids.shape[0]
        self.bias = _reindexed(fitted.bias, self.known_codes, n_rows)
        self.factors = _reindexed(fitted.factors, self.known_codes, n_rows)
        self.vectors = (
            self.factors
            if fitted.full_vectors is None
            else _reindexed(fitted.full_vectors, self.known_codes, n_rows)
        )
        self.is_new = np.ones(n_rows, dtype=bool)
        self.is_new[self.known_codes] = False
        # Rows fit did not see: new ones and, for items, those folded in before.
        self.folded = self.is_new.copy()
        if name == "item":
            self.folded[self.known_codes] = state.folded_items
        self.columns = state.attribute_columns(name)
        self.attribute_bias = (
            None
            if fitted.attribute_bias is None
            else _reindexed(fitted.attribute_bias, self.known_codes, n_rows)
        )

    def describe_new(self, state: FittedState, centred_features: np.ndarray) -> None:
        """Give the rows new in this call the attribute part of their vectors (and of
        the linear term, for ``recommend``) from their first rating's features."""
        new_rows = np.flatnonzero(self.is_new)
        if self.columns.size == 0 or new_rows.size == 0:
            return
        present, first = np.unique(self.codes, return_index=True)
        first_rating = first[np.searchsorted(present, new_rows)]
        self.vectors[new_rows], self.attribute_bias[new_rows] = state.attribute_part(
            self.name, centred_features[first_rating]
        )

    def solve(
        self,
        rows: np.ndarray,
        indptr: np.ndarray,
        other_codes: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray,
        other: "_Side",
        **penalties,
    ) -> None:
        """Solve ``rows`` exactly against their ratings (grouped by ``indptr``: the
        other side's codes, targets, weights), ``other`` fixed; the part of their
        vectors that is not their own factors (attribute sums) stays as the prior."""
        k = self.vectors.shape[1]
        prior = self.vectors[rows] - self.factors[rows]
        bias, vectors = solve_rows(
            indptr,
            other_codes,
            target,
            weight,
            other.bias,
            other.vectors,
            prior if self.columns.size else np.zeros((0, k)),
            **penalties,
        )
        self.bias[rows] = bias
        self.vectors[rows] = vectors
        self.factors[rows] = vectors - prior

    def state(self, fitted: SideState) -> SideState:
        return dataclasses.replace(
            fitted,
            ids=self.ids,
            bias=self.bias,
            factors=self.factors,
            full_vectors=None if self.vectors is self.factors else self.vectors,
            attribute_bias=self.attribute_bias,
        )


def _take(weight: np.ndarray, positions: np.ndarray) -> np.ndarray:
    if is_unit_weights(weight):
        return unit_weights(positions.shape[0])
    return weight[positions]


def fold_in(
    state: FittedState,
    ratings: RatingInput,
    y: np.ndarray,
    weight: np.ndarray,
    *,
    alpha_bias: float,
    fit_bias: bool,
    n_chunks: int,
) -> FittedState:
    """The state of a ``MatrixFactorization`` without implicit feedback with the
    validated ratings ``(ratings, y, weight)`` folded in."""
    users = _Side(state, "user", ratings.users)
    items = _Side(state, "item", ratings.items)
    centred = ratings.features - state.feature_mean
    users.describe_new(state, centred)
    items.describe_new(state, centred)
    history = state.history
    penalties = {
        # The history is in rating units: alpha, set for standardised ratings, acts
        # there as alpha * rating_scale (alpha_bias is the same in both).
        "alpha": state.alpha * state.rating_scale,
        "alpha_bias": alpha_bias,
        "fit_bias": fit_bias,
        "n_chunks": n_chunks,
    }

    # The history with the new ratings inserted after each user's old ones. Merged
    # codes keep the order of the known ids, so the old history stays in place.
    n_users = users.ids.shape[0]
    old_counts = _reindexed(np.diff(history.indptr), users.known_codes, n_users)
    new_order = np.argsort(users.codes, kind="stable")
    insert_at = np.cumsum(old_counts)[users.codes[new_order]]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(old_counts + np.bincount(users.codes, minlength=n_users), out=indptr[1:])
    old_items = history.items
    if items.is_new.any():
        old_items = items.known_codes[old_items]
    all_items = np.insert(old_items, insert_at, items.codes[new_order])
    new_target = y - state.global_mean - centred @ state.coef
    all_target = np.insert(history.target, insert_at, new_target[new_order])
    old_weight = history.weight
    if old_weight is None and is_unit_weights(weight):
        all_weight = unit_weights(all_items.shape[0])
    else:
        if old_weight is None:
            old_weight = np.ones(history.items.shape[0])
        # In the units of fit's relative weights, which the history holds.
        new_weight = np.asarray(weight, dtype=np.float64)[new_order]
        new_weight /= state.weight_scale
        all_weight = np.insert(old_weight, insert_at, new_weight)

    # 1. The users of the new ratings, against all their ratings.
    touched = np.unique(users.codes)
    starts, stops = indptr[touched], indptr[touched + 1]
    row_ptr = np.zeros(touched.shape[0] + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=row_ptr[1:])
    positions = np.repeat(starts - row_ptr[:-1], stops - starts) + np.arange(
        row_ptr[-1]
    )
    users.solve(
        touched,
        row_ptr,
        all_items[positions],
        all_target[positions],
        _take(all_weight, positions),
        items,
        **penalties,
    )

    # 2. The items of the new ratings that fit did not see, against the new users.
    new_items = np.unique(items.codes[items.folded[items.codes]])
    if new_items.size:
        compact = np.full(items.ids.shape[0], -1, dtype=np.int64)
        compact[new_items] = np.arange(new_items.shape[0])
        selected = np.flatnonzero(compact[all_items] >= 0)
        item_ptr, item_order = group_by_key(
            compact[all_items[selected]], new_items.size
        )
        positions = selected[item_order]
        # The user of each of those ratings: the user slice holding its position.
        rating_users = np.searchsorted(indptr, positions, side="right") - 1
        items.solve(
            new_items,
            item_ptr,
            rating_users.astype(np.int32),
            all_target[positions],
            _take(all_weight, positions),
            users,
            **penalties,
        )

    return dataclasses.replace(
        state,
        users=users.state(state.users),
        items=items.state(state.items),
        folded_items=items.folded,
        history=RatingHistory(
            indptr,
            all_items,
            all_target,
            None if is_unit_weights(all_weight) else all_weight,
        ),
    )
