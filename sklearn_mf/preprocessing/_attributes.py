"""Join user and item attribute tables onto (user, item) rows inside a Pipeline."""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._ids import canonical_ids, encode_ids, lookup_codes
from ..utils._validation import as_2d


def _encoded_table(
    table: pd.DataFrame, side: str
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """``(ids, encoded, is_number)``: the table's ids (its index), its columns as
    numbers (categorical and text columns one-hot encoded), and which of the encoded
    columns are numbers rather than one-hot indicators."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"{side}_attributes must be a DataFrame indexed by {side} id; got "
            f"{type(table).__name__}."
        )
    ids = canonical_ids(table.index.to_numpy(), f"{side}_attributes index")
    if len(encode_ids(ids)[0]) != len(ids):
        raise ValueError(f"{side}_attributes has repeated {side} ids in its index.")
    if table.isna().to_numpy().any():
        raise ValueError(
            f"{side}_attributes has missing values; fill them (their meaning is yours "
            "to choose) before joining."
        )
    numbers = table.select_dtypes(include=["number", "bool"]).astype(float)
    others = table.drop(columns=numbers.columns)
    indicators = (
        pd.get_dummies(others, prefix_sep="=", dtype=float)
        if others.shape[1]
        else pd.DataFrame(index=table.index)
    )
    encoded = pd.concat([numbers, indicators], axis=1)
    encoded.columns = [f"{side}:{column}" for column in encoded.columns]
    is_number = np.arange(encoded.shape[1]) < numbers.shape[1]
    return ids, encoded, is_number


class AttributeJoiner(TransformerMixin, BaseEstimator):
    """Join user and item attribute tables onto the (user, item) rows of ``X``.

    A rating table and attribute tables stay apart, as Turi's ``user_data`` and
    LightFM's ``Dataset`` keep them: ``transform`` returns ``X``'s user and item id
    columns first, then the attributes of each row's user and item, ready for a
    ``MatrixFactorization`` (``feature_factors=True`` turns them into latent vectors,
    so that a new user needs only an id and a row in the table). Numeric columns are
    kept, categorical and text columns one-hot encoded (with the categories of the
    tables). Columns of ``X`` beyond the ids are passed through after the attributes.

    An id missing from its table gets the table's mean of each numeric column and
    zeros in the one-hot columns (no category), and, with ``add_indicator=True``, a 1
    in a ``user:missing`` (``item:missing``) column: the model then learns what an
    undescribed id is like.

    Parameters
    ----------
    user_attributes : DataFrame or None, default=None
        One row per user id (the index), one column per attribute, no missing values.

    item_attributes : DataFrame or None, default=None
        Likewise for items.

    add_indicator : bool, default=False
        Whether to add a column per side that marks ids missing from its table.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        The names of the output columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mf.preprocessing import AttributeJoiner
    >>> users = pd.DataFrame({"age": [20, 40]}, index=["ann", "bob"])
    >>> items = pd.DataFrame({"genre": ["drama", "comedy"]}, index=[1, 2])
    >>> X = pd.DataFrame({"user": ["ann", "bob", "cid"], "item": [1, 2, 2]})
    >>> AttributeJoiner(users, items).fit_transform(X)
      user  item  user:age  item:genre=comedy  item:genre=drama
    0  ann     1      20.0                0.0               1.0
    1  bob     2      40.0                1.0               0.0
    2  cid     2      30.0                1.0               0.0
    """

    _parameter_constraints: dict = {
        "user_attributes": [pd.DataFrame, None],
        "item_attributes": [pd.DataFrame, None],
        "add_indicator": ["boolean"],
    }

    def __init__(
        self, user_attributes=None, item_attributes=None, *, add_indicator=False
    ):
        self.user_attributes = user_attributes
        self.item_attributes = item_attributes
        self.add_indicator = add_indicator

    def fit(self, X, y=None):
        """Encode the attribute tables (``X`` is checked for its id columns only)."""
        self._validate_params()
        X = as_2d(X)
        if X.shape[1] < 2:
            raise ValueError(
                f"X must have a user and an item id column; got {X.shape[1]} column(s)."
            )
        tables = {}
        for side, table in (
            ("user", self.user_attributes),
            ("item", self.item_attributes),
        ):
            if table is not None:
                ids, encoded, is_number = _encoded_table(table, side)
                known, codes = encode_ids(ids)
                values = np.empty(encoded.shape)
                values[codes] = encoded.to_numpy()
                # An id missing from the table: the mean of each number, no category.
                fill = np.where(is_number, encoded.mean().to_numpy(), 0.0)
                tables[side] = (known, values, encoded.columns, fill)
        self.tables_ = tables
        names = ["user", "item"]
        for side, (_, _, columns, _) in tables.items():
            names += list(columns) + ([f"{side}:missing"] if self.add_indicator else [])
        self.n_passthrough_ = X.shape[1] - 2
        self.feature_names_out_ = np.array(
            names + [f"x{j}" for j in range(2, X.shape[1])], dtype=object
        )
        return self

    def transform(self, X) -> pd.DataFrame:
        """``X``'s ids, the attributes of each row's user and item, then ``X``'s
        other columns."""
        check_is_fitted(self)
        X = as_2d(X)
        if X.shape[1] != 2 + self.n_passthrough_:
            raise ValueError(
                f"X has {X.shape[1]} columns; fit saw {2 + self.n_passthrough_}."
            )
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        parts = {
            "user": frame.iloc[:, 0].to_numpy(),
            "item": frame.iloc[:, 1].to_numpy(),
        }
        out = [pd.DataFrame({"user": parts["user"], "item": parts["item"]})]
        for side, (known, values, columns, fill) in self.tables_.items():
            codes = lookup_codes(known, canonical_ids(parts[side], side))
            missing = codes < 0
            joined = np.where(missing[:, None], fill, values[np.maximum(codes, 0)])
            block = pd.DataFrame(joined, columns=columns)
            if self.add_indicator:
                block[f"{side}:missing"] = missing.astype(float)
            out.append(block)
        if self.n_passthrough_:
            rest = frame.iloc[:, 2:].reset_index(drop=True)
            rest.columns = self.feature_names_out_[-self.n_passthrough_ :]
            out.append(rest)
        return pd.concat(out, axis=1)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self)
        return self.feature_names_out_.copy()
