"""Which side-feature columns describe users, which describe items.

Side features arrive per rating (columns 2 and beyond of ``X``), typically user and
item tables joined onto the ratings. A column whose value never changes within any
user's training ratings is an attribute of the users; likewise for items. Attributes
are what ``feature_factors`` turns into latent vectors, and what lets an unseen id be
described at all.
"""

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


def fitted_attributes(
    attributes: tuple[SideAttributes, SideAttributes],
    n_features: int,
    attribute_factors: tuple[np.ndarray, np.ndarray],
    coef: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``(feature_sides, factors, attribute_bias)`` of a fit: what each of the
    ``n_features`` columns describes (``"user"``, ``"item"`` or ``"rating"``), the
    latent vector of each column (the side's ``attribute_factors`` at its columns,
    zero for the others) and what the linear term ``coef`` makes of each training
    user's and item's attributes (``recommend`` adds it, as its candidates'
    attributes differ). All in the units of the standardised features."""
    k = attribute_factors[0].shape[1]
    sides = np.full(n_features, "rating", dtype=object)
    factors = np.zeros((n_features, k))
    for side, side_attributes, vectors in zip(
        ("user", "item"), attributes, attribute_factors, strict=True
    ):
        sides[side_attributes.columns] = side
        factors[side_attributes.columns] = vectors
    attribute_bias = tuple(
        side_attributes.values @ coef[side_attributes.columns]
        for side_attributes in attributes
    )
    return sides, factors, attribute_bias
