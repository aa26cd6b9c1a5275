"""The training ratings, indexed by user and by item, built once per fit."""

from dataclasses import dataclass

import numpy as np


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
    row_weight: np.ndarray
    chunks: np.ndarray

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Return per-rating ``values`` in this side's order."""
        return values[self.order]


def _chunk_bounds(indptr: np.ndarray, n_factors: int, n_chunks: int) -> np.ndarray:
    # A row costs about n_ratings * d^2 / 2 for its Gram matrix plus d^3 / 6 for the
    # solve; balancing on that keeps both threads busy even with skewed row sizes.
    d = n_factors + 1
    work = np.diff(indptr) * (d * d / 2.0) + d**3 / 6.0
    cumulative = np.concatenate(([0.0], np.cumsum(work)))
    targets = np.linspace(0.0, cumulative[-1], n_chunks + 1)
    bounds = np.searchsorted(cumulative, targets, side="left")
    bounds[0], bounds[-1] = 0, indptr.shape[0] - 1
    return np.unique(bounds).astype(np.int64)


def _side_index(
    codes: np.ndarray,
    other: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    n_rows: int,
    n_factors: int,
    n_chunks: int,
) -> SideIndex:
    order = np.argsort(codes, kind="stable")
    if order.shape[0] < np.iinfo(np.int32).max:
        order = order.astype(np.int32)  # half the memory of the default int64
    counts = np.bincount(codes, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return SideIndex(
        indptr=indptr,
        order=order,
        other=np.ascontiguousarray(other[order]),
        target=target[order],
        weight=weight[order],
        row_weight=np.bincount(codes, weights=weight, minlength=n_rows),
        chunks=_chunk_bounds(indptr, n_factors, n_chunks),
    )


@dataclass(frozen=True)
class RatingData:
    """Validated, encoded training ratings.

    Attributes
    ----------
    user_codes, item_codes : ndarray of int32
        Codes of each rating, in the original order.
    target : ndarray of float64
        Rating minus the global mean.
    weight : ndarray of float64
        Sample weights (ones when none were given).
    features : ndarray of float64 of shape (n_ratings, n_features)
        Standardised side features.
    by_user, by_item : SideIndex
        The same ratings grouped by user and by item.
    """

    user_codes: np.ndarray
    item_codes: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    features: np.ndarray
    by_user: SideIndex
    by_item: SideIndex

    @classmethod
    def build(
        cls,
        user_codes: np.ndarray,
        item_codes: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray,
        features: np.ndarray,
        n_users: int,
        n_items: int,
        n_factors: int,
        n_chunks: int,
    ) -> "RatingData":
        return cls(
            user_codes=user_codes,
            item_codes=item_codes,
            target=target,
            weight=weight,
            features=features,
            by_user=_side_index(
                user_codes, item_codes, target, weight, n_users, n_factors, n_chunks
            ),
            by_item=_side_index(
                item_codes, user_codes, target, weight, n_items, n_factors, n_chunks
            ),
        )

    @property
    def n_ratings(self) -> int:
        return self.target.shape[0]

    @property
    def total_weight(self) -> float:
        return float(np.sum(self.weight))

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
