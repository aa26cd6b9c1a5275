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
"""

import numpy as np

from ._attributes import attribute_part
from ._ids import canonical_ids, encode_ids
from ._kernels._als import als_half_step
from ._ratings import _chunk_bounds, _is_unit_weights, group_by_key, unit_weights
from .utils._validation import RatingInput


def _merge_ids(known: np.ndarray, new: np.ndarray, name: str):
    """``(ids, known_codes, new_codes)``: the sorted union of two canonical id arrays
    and the position of each of their entries in it."""
    if known.dtype == new.dtype:
        merged = np.concatenate([known, new])
    else:
        merged = canonical_ids(
            np.concatenate([known.astype(object), new.astype(object)]), name
        )
    ids, codes = encode_ids(merged)
    return ids, codes[: known.shape[0]], codes[known.shape[0] :]


def _reindexed(values: np.ndarray, codes: np.ndarray, n_rows: int) -> np.ndarray:
    """``values`` moved to rows ``codes`` of an array of ``n_rows`` (zero elsewhere);
    ``values`` itself, updated in place later, when no row is new."""
    if n_rows == values.shape[0]:
        return values
    out = np.zeros((n_rows,) + values.shape[1:], dtype=values.dtype)
    out[codes] = values
    return out


class _Side:
    """One side's fitted arrays, re-indexed to the merged ids: ``bias``,
    ``factors`` and ``vectors`` (the full ones ``predict`` uses), plus which rows are
    new in this call, which may be re-solved, and their attribute parts."""

    def __init__(self, estimator, side: str, new_ids: np.ndarray):
        self.side = side
        known = estimator.users_ if side == "user" else estimator.items_
        self.ids, self.known_codes, self.codes = _merge_ids(known, new_ids, side)
        n_rows = self.ids.shape[0]
        index = 0 if side == "user" else 1
        self.bias = _reindexed(
            getattr(estimator, f"{side}_bias_"), self.known_codes, n_rows
        )
        self.factors = _reindexed(
            getattr(estimator, f"{side}_factors_"), self.known_codes, n_rows
        )
        self.vectors = _reindexed(
            estimator._full_vectors[index], self.known_codes, n_rows
        )
        self.is_new = np.ones(n_rows, dtype=bool)
        self.is_new[self.known_codes] = False
        # Rows fit did not see: new ones and, for items, those folded in before.
        self.folded = self.is_new.copy()
        if side == "item":
            self.folded[self.known_codes] = estimator._folded_items
        self.attribute_bias = None
        sides = getattr(estimator, "feature_sides_", None)
        self.columns = (
            np.zeros(0, dtype=np.int64)
            if sides is None
            else np.flatnonzero(sides == side)
        )
        if sides is not None:
            self.attribute_bias = _reindexed(
                estimator._attribute_bias[side], self.known_codes, n_rows
            )

    def describe_new(self, estimator, centred_features: np.ndarray) -> None:
        """Give the rows new in this call the attribute part of their vectors (and of
        the linear term, for ``recommend``) from their first rating's features."""
        new_rows = np.flatnonzero(self.is_new)
        if self.columns.size == 0 or new_rows.size == 0:
            return
        present, first = np.unique(self.codes, return_index=True)
        first_rating = first[np.searchsorted(present, new_rows)]
        self.vectors[new_rows], self.attribute_bias[new_rows] = attribute_part(
            estimator, self.side, centred_features[first_rating]
        )


def _take(weight: np.ndarray, positions: np.ndarray) -> np.ndarray:
    if _is_unit_weights(weight):
        return unit_weights(positions.shape[0])
    return weight[positions]


def _solve_rows(
    rows: np.ndarray,
    indptr: np.ndarray,
    other_codes: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    side: _Side,
    other: _Side,
    estimator,
    n_chunks: int,
) -> None:
    """Solve ``side``'s ``rows`` exactly against their ratings (grouped by
    ``indptr``: the other side's codes, targets, weights), ``other`` fixed; the part
    of their vectors that is not their own factors (attribute sums) stays as the
    prior."""
    k = side.vectors.shape[1]
    prior = side.vectors[rows] - side.factors[rows]
    bias = np.zeros(rows.shape[0])
    vectors = np.zeros((rows.shape[0], k))
    als_half_step(
        _chunk_bounds(indptr, k, n_chunks),
        indptr,
        other_codes,
        target,
        weight,
        other.bias,
        other.vectors,
        # The history is in rating units: alpha, set for standardised ratings, acts
        # there as alpha * rating_scale_ (alpha_bias is the same in both).
        estimator.alpha_ * estimator.rating_scale_,
        estimator.alpha_bias,
        estimator.fit_bias,
        prior if side.columns.size else np.zeros((0, k)),
        bias,
        vectors,
    )
    side.bias[rows] = bias
    side.vectors[rows] = vectors
    side.factors[rows] = vectors - prior


def fold_in(
    estimator, ratings: RatingInput, y: np.ndarray, weight: np.ndarray, n_chunks: int
) -> None:
    """Fold the validated ratings ``(ratings, y, weight)`` into the fitted
    ``estimator`` (a ``MatrixFactorization`` without implicit feedback), in place."""
    users = _Side(estimator, "user", ratings.users)
    items = _Side(estimator, "item", ratings.items)
    centred = ratings.features - estimator._feature_mean
    users.describe_new(estimator, centred)
    items.describe_new(estimator, centred)

    # The history with the new ratings inserted after each user's old ones. Merged
    # codes keep the order of the known ids, so the old history stays in place.
    n_users = users.ids.shape[0]
    old_counts = _reindexed(np.diff(estimator._seen_indptr), users.known_codes, n_users)
    new_order = np.argsort(users.codes, kind="stable")
    insert_at = np.cumsum(old_counts)[users.codes[new_order]]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(old_counts + np.bincount(users.codes, minlength=n_users), out=indptr[1:])
    old_items = estimator._seen_items
    if items.is_new.any():
        old_items = items.known_codes[old_items]
    all_items = np.insert(old_items, insert_at, items.codes[new_order])
    new_target = y - estimator.global_mean_ - centred @ estimator.coef_
    all_target = np.insert(estimator._seen_target, insert_at, new_target[new_order])
    old_weight = estimator._seen_weight
    if old_weight is None and _is_unit_weights(weight):
        all_weight = unit_weights(all_items.shape[0])
    else:
        if old_weight is None:
            old_weight = np.ones(estimator._seen_items.shape[0])
        # In the units of fit's relative weights, which the history holds.
        new_weight = np.asarray(weight, dtype=np.float64)[new_order]
        new_weight /= estimator._weight_scale
        all_weight = np.insert(old_weight, insert_at, new_weight)

    # 1. The users of the new ratings, against all their ratings.
    touched = np.unique(users.codes)
    starts, stops = indptr[touched], indptr[touched + 1]
    row_ptr = np.zeros(touched.shape[0] + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=row_ptr[1:])
    positions = np.repeat(starts - row_ptr[:-1], stops - starts) + np.arange(
        row_ptr[-1]
    )
    _solve_rows(
        touched,
        row_ptr,
        all_items[positions],
        all_target[positions],
        _take(all_weight, positions),
        users,
        items,
        estimator,
        n_chunks,
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
        _solve_rows(
            new_items,
            item_ptr,
            rating_users.astype(np.int32),
            all_target[positions],
            _take(all_weight, positions),
            items,
            users,
            estimator,
            n_chunks,
        )

    estimator.users_, estimator.items_ = users.ids, items.ids
    for side in (users, items):
        name = "user" if side is users else "item"
        setattr(estimator, f"{name}_bias_", side.bias)
        setattr(estimator, f"{name}_factors_", side.factors)
        if side.attribute_bias is not None:
            estimator._attribute_bias[name] = side.attribute_bias
    estimator._full_vectors = (users.vectors, items.vectors)
    estimator._folded_items = items.folded
    estimator._seen_indptr = indptr
    estimator._seen_items = all_items
    estimator._seen_target = all_target
    estimator._seen_weight = None if _is_unit_weights(all_weight) else all_weight
