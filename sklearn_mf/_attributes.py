"""Which side-feature columns describe users, which describe items.

Side features arrive per rating (columns 2 and beyond of ``X``), typically user and
item tables joined onto the ratings. A column whose value never changes within any
user's training ratings is an attribute of the users; likewise for items. Attributes
are what ``feature_factors`` turns into latent vectors, and what lets an unseen id be
described at all.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._ratings import group_by_key


@dataclass(frozen=True)
class SideAttributes:
    """The attribute columns of one side and each training id's values of them.

    ``columns`` index the feature columns; ``values[r]`` are the standardised values
    of row ``r`` (a user or an item code) in those columns.
    """

    columns: np.ndarray
    values: np.ndarray

    @property
    def n_columns(self) -> int:
        return self.columns.shape[0]


def _constant_within(codes: np.ndarray, n_rows: int, features: np.ndarray):
    """``(is_constant, first)``: which columns never change within a row of ``codes``,
    and each row's value in its first rating."""
    indptr, order = group_by_key(codes, n_rows)
    first = features[order[indptr[:-1]]]  # every training id has a rating
    is_constant = (features == first[codes]).all(axis=0)
    return is_constant, first


def find_attributes(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    n_users: int,
    n_items: int,
    features: np.ndarray,
) -> tuple[SideAttributes, SideAttributes]:
    """Split the (standardised) feature columns into user and item attributes.

    A column constant within every user's ratings and also within every item's (a
    constant column, or data where no user or item has two different partners) says
    nothing about whose attribute it is, so it is neither; columns that vary within
    both sides (context of the rating) are neither too.
    """
    by_user, user_first = _constant_within(user_codes, n_users, features)
    by_item, item_first = _constant_within(item_codes, n_items, features)
    user_columns = np.flatnonzero(by_user & ~by_item)
    item_columns = np.flatnonzero(by_item & ~by_user)
    return (
        SideAttributes(user_columns, np.ascontiguousarray(user_first[:, user_columns])),
        SideAttributes(item_columns, np.ascontiguousarray(item_first[:, item_columns])),
    )


def attribute_part(estimator, side: str, centred: np.ndarray):
    """``(vectors, linear)``: what the attributes of ``side`` (``"user"`` or
    ``"item"``) in the centred feature rows ``centred`` add to a fitted estimator's
    vectors and to its linear term."""
    columns = np.flatnonzero(estimator.feature_sides_ == side)
    values = centred[:, columns]
    return (
        values @ estimator.feature_factors_[columns],
        values @ estimator.coef_[columns],
    )


def describe_unknown(
    codes: np.ndarray,
    vectors: np.ndarray,
    bias: np.ndarray,
    describe: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give each row of an unknown id (code -1) a vector from its attributes.

    ``describe(rows)`` returns the vectors of the rows at positions ``rows``.
    Returns ``(codes, vectors, bias)`` extended by one vector (and a zero bias) per
    such row, with the row's code pointing to it; unchanged when no row needs one.
    Known ids keep the vectors they were fitted with.
    """
    unknown = np.flatnonzero(codes < 0)
    if unknown.size == 0:
        return codes, vectors, bias
    described = describe(unknown)
    codes = codes.copy()
    codes[unknown] = vectors.shape[0] + np.arange(unknown.size, dtype=codes.dtype)
    return (
        codes,
        np.vstack([vectors, described]),
        np.concatenate([bias, np.zeros(unknown.size)]),
    )
