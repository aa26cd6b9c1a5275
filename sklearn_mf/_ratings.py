"""The training ratings, indexed by user and by item, built once per fit."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._kernels._sort import (
    count_keys,
    regroup_by_other,
    scatter_by_key,
    scatter_ratings_into,
    sort_rows_by_other,
    sum_by_key,
)
from ._kernels._types import Ratings
from ._sums import exact_sum


def _key_bounds(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Start of each key's group when ``keys`` are grouped, then the total count."""
    bounds = np.zeros(n_keys + 1, dtype=np.int64)
    count_keys(keys, bounds[1:])
    np.cumsum(bounds, out=bounds)
    return bounds


def position_dtype(n: int) -> type:
    # int32 positions when they fit halve the memory of an ordering.
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def group_by_key(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indptr, order)``: the positions of ``keys`` grouped by key, stably.

    ``keys`` must lie in ``0..n_keys - 1`` (codes, not raw ids).

    ``order[indptr[k]:indptr[k + 1]]`` are the positions of key ``k`` in increasing
    order. A counting sort: linear time, unlike ``np.argsort``. ``order`` is int32
    when the positions fit, which halves its memory.
    """
    indptr = _key_bounds(keys, n_keys)
    order = np.empty(keys.shape[0], dtype=position_dtype(keys.shape[0]))
    scatter_by_key(keys, indptr, order)
    return indptr, order


@dataclass(frozen=True)
class SideIndex:
    """Ratings grouped by the rows of one side, in CSR layout.

    ``order[indptr[r]:indptr[r + 1]]`` are the positions (in the original rating order)
    of the ratings of row ``r``; ``other``, ``target`` and ``weight`` hold the other
    side's codes, the targets and the weights in that order. ``chunks`` splits the rows
    into contiguous blocks of about equal work for the parallel half-step.
    """

    indptr: np.ndarray
    order: np.ndarray
    other: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    chunks: np.ndarray

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Return per-rating ``values`` in this side's order."""
        return values[self.order]

    def ratings(self, target: np.ndarray | None = None) -> Ratings:
        """The kernels' bundle of this index, with ``target`` in its order instead
        of its own targets if given."""
        return Ratings(
            self.indptr,
            self.other,
            self.target if target is None else target,
            self.weight,
        )


def chunk_bounds(indptr: np.ndarray, n_components: int, n_chunks: int) -> np.ndarray:
    # A row costs about n_ratings * d^2 / 2 for its Gram matrix plus d^3 / 6 for the
    # solve; balancing on that keeps both threads busy even with skewed row sizes.
    d = n_components + 1
    work = np.diff(indptr) * (d * d / 2.0) + d**3 / 6.0
    cumulative = np.concatenate(([0.0], np.cumsum(work)))
    targets = np.linspace(0.0, cumulative[-1], n_chunks + 1)
    bounds = np.searchsorted(cumulative, targets, side="left")
    bounds[0], bounds[-1] = 0, indptr.shape[0] - 1
    return np.unique(bounds).astype(np.int64)


def unit_weights(n: int) -> np.ndarray:
    """``n`` weights of one that take no memory: a read-only zero-stride view."""
    return np.broadcast_to(np.float64(1.0), (n,))


def is_unit_weights(weight: np.ndarray) -> bool:
    return weight.strides[0] == 0 and (weight.size == 0 or weight[0] == 1.0)


def _gather(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    # Unit weights stay a zero-stride view: gathering would materialise n ones.
    return values if is_unit_weights(values) else values[order]


def _regrouped(
    indptr: np.ndarray,
    order: np.ndarray,
    other: np.ndarray,
    values: np.ndarray,
    n_other: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratings grouped by row (positions ``order``, other-side codes ``other``),
    regrouped by the other side: its ``(indptr, order, other, values)``, each of its
    rows sorted by this side's row."""
    other_indptr = _key_bounds(other, n_other)
    out_order, out_other = np.empty_like(order), np.empty_like(other)
    out_values = np.empty_like(values)
    regroup_by_other(
        indptr, other, order, values, other_indptr, out_order, out_other, out_values
    )
    return other_indptr, out_order, out_other, out_values


@dataclass(frozen=True)
class RatingData:
    """Validated, encoded training ratings.

    Attributes
    ----------
    user_codes, item_codes : ndarray of int32
        Codes of each rating, in the original order.
    y : ndarray of float64
        The ratings.
    offset, scale : float
        The global mean and the ratings' spread: the solvers' ``target`` is
        ``(y - offset) / scale``.
    weight : ndarray of float64
        Relative sample weights; a zero-stride view (see ``unit_weights``) when none were
        given, which the kernels read like any array.
    features : ndarray of float64 of shape (n_ratings, n_features)
        Standardised side features.
    n_users, n_items : int
        Number of distinct users and items.
    n_components, n_chunks : int
        Rank of the model and number of work chunks per side, for ``by_user`` and
        ``by_item``.
    """

    user_codes: np.ndarray
    item_codes: np.ndarray
    y: np.ndarray
    offset: float
    scale: float
    weight: np.ndarray
    features: np.ndarray
    n_users: int
    n_items: int
    n_components: int
    n_chunks: int

    # The per-side indexes are built on first use: the alternating solvers need
    # both, SGD neither. Within a row the ratings are sorted by the other side's
    # code, so the kernels read the other side's vectors in increasing address
    # order: once the factor matrices outgrow the caches, the prefetcher and the TLB
    # cope with that far better than with random order.
    @cached_property
    def by_user(self) -> SideIndex:
        """The ratings grouped by user."""
        # Grouped by item first, then regrouped by user: two sequential passes that
        # leave each user's ratings sorted by item.
        item_indptr = _key_bounds(self.item_codes, self.n_items)
        by_item_unsorted = (
            np.empty(self.n_ratings, dtype=position_dtype(self.n_ratings)),
            np.empty_like(self.user_codes),
            np.empty(self.n_ratings),
        )
        scatter_ratings_into(
            self.item_codes,
            self.user_codes,
            self.y,
            self.offset,
            self.scale,
            item_indptr[:-1].copy(),
            0,
            *by_item_unsorted,
        )
        return self._side_index(
            *_regrouped(item_indptr, *by_item_unsorted, self.n_users)
        )

    @cached_property
    def by_item(self) -> SideIndex:
        """The ratings grouped by item."""
        by_user = self.by_user
        return self._side_index(
            *_regrouped(
                by_user.indptr,
                by_user.order,
                by_user.other,
                by_user.target,
                self.n_items,
            )
        )

    def _side_index(
        self,
        indptr: np.ndarray,
        order: np.ndarray,
        other: np.ndarray,
        target: np.ndarray,
    ) -> SideIndex:
        return SideIndex(
            indptr=indptr,
            order=order,
            other=other,
            target=target,
            weight=_gather(self.weight, order),
            chunks=chunk_bounds(indptr, self.n_components, self.n_chunks),
        )

    def _row_weight(self, codes: np.ndarray, n_rows: int) -> np.ndarray:
        if is_unit_weights(self.weight):  # plain counts: no weight array to read
            counts = np.zeros(n_rows, dtype=np.int64)
            count_keys(codes, counts)
            return counts.astype(np.float64)
        return np.bincount(codes, weights=self.weight, minlength=n_rows)

    @cached_property
    def user_weight(self) -> np.ndarray:
        """Summed sample weight of each user's ratings."""
        return self._row_weight(self.user_codes, self.n_users)

    @cached_property
    def item_weight(self) -> np.ndarray:
        """Summed sample weight of each item's ratings."""
        return self._row_weight(self.item_codes, self.n_items)

    @cached_property
    def target(self) -> np.ndarray:
        """Standardised ratings, in the original order.

        Only the feature term and SGD need it; the alternating solvers without
        features work on the per-side copies alone.
        """
        return (self.y - self.offset) / self.scale

    @property
    def n_ratings(self) -> int:
        return self.y.shape[0]

    @cached_property
    def total_weight(self) -> float:
        """The sum of the weights, exactly rounded (the same in any order)."""
        if is_unit_weights(self.weight):
            return float(self.n_ratings)
        return exact_sum(self.weight)

    def feature_term(self, coef: np.ndarray) -> np.ndarray:
        """Per-rating contribution of the side features (zeros when there are none)."""
        return self.features @ coef if coef.size else np.zeros(self.n_ratings)

    def side_target(self, side: SideIndex, coef: np.ndarray) -> np.ndarray:
        """Targets minus the feature term, in the order of ``side``.

        Without features these are ``side.target`` themselves, so that no
        rating-sized array is allocated per epoch.
        """
        if coef.size == 0:
            return side.target
        return side.gather(self.target - self.features @ coef)


def group_parts(
    rows: list[np.ndarray],
    other: list[np.ndarray],
    y: list[np.ndarray],
    weight: list[np.ndarray] | None,
    shape: tuple[int, int],
    offset: float,
    scale: float,
    n_chunks: tuple[int, int],
) -> tuple[SideIndex, np.ndarray, np.ndarray]:
    """Ratings given in parts, grouped by row as ``RatingData.by_user`` groups its
    users: ``(index, needed, row_weight)``.

    Part ``p`` holds ratings in input order: their row codes ``rows[p]`` and other
    side's codes ``other[p]`` (``shape`` gives how many of each there are), ratings
    ``y[p]`` and weights ``weight[p]`` (None: all one). Each row's ratings are sorted
    by the other side's code, ties in input order. ``index.other`` holds positions
    in ``needed``, the sorted codes of the other side that the ratings name, and
    ``index.order`` positions in the parts' concatenation; ``row_weight`` is each
    row's summed weight, added in input order. ``n_chunks`` is ``(n_components,
    number of chunks)`` for the index's work chunks. The parts are never
    concatenated: one stable scatter by row and a sort within each row take the
    memory of the index alone.
    """
    n_rows, n_other = shape
    present = np.zeros(n_other, dtype=bool)
    for codes in other:
        present[codes] = True
    needed = np.flatnonzero(present).astype(np.int32)
    position = np.zeros(n_other, dtype=np.int32)
    position[needed] = np.arange(needed.shape[0], dtype=np.int32)
    counts = np.zeros(n_rows, dtype=np.int64)
    for codes in rows:
        count_keys(codes, counts)
    indptr = np.concatenate(([0], np.cumsum(counts)))
    n = int(indptr[-1])
    order = np.empty(n, dtype=position_dtype(n))
    index_other = np.empty(n, dtype=np.int32)
    target = np.empty(n)
    fill, first = indptr[:-1].copy(), 0
    for codes, other_codes, ratings in zip(rows, other, y, strict=True):
        scatter_ratings_into(
            codes,
            position[other_codes],
            ratings,
            offset,
            scale,
            fill,
            first,
            order,
            index_other,
            target,
        )
        first += codes.shape[0]
    sort_rows_by_other(indptr, index_other, order, target)
    if weight is None:
        row_weight = counts.astype(np.float64)
        weights = unit_weights(n)
    else:
        row_weight = np.zeros(n_rows)
        for codes, part_weight in zip(rows, weight, strict=True):
            sum_by_key(codes, part_weight, row_weight)
        weights = np.concatenate(weight)[order]
    index = SideIndex(
        indptr, order, index_other, target, weights, chunk_bounds(indptr, *n_chunks)
    )
    return index, needed, row_weight
