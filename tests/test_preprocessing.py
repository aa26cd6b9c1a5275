"""AttributeJoiner: attribute tables joined onto rating rows inside a Pipeline."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline

from sklearn_mf import MatrixFactorization
from sklearn_mf.preprocessing import AttributeJoiner

USERS = pd.DataFrame(
    {"age": [20.0, 40.0, 60.0], "job": ["cook", "poet", "cook"]},
    index=pd.Index(["ann", "bob", "cid"], name="user"),
)
ITEMS = pd.DataFrame({"year": [1990, 2000]}, index=[1, 2])


def test_rows_get_their_users_and_items_attributes():
    X = pd.DataFrame({"user": ["cid", "ann", "bob"], "item": [2, 1, 1.0]})
    out = AttributeJoiner(USERS, ITEMS).fit_transform(X)
    assert out.columns.tolist() == [
        "user",
        "item",
        "user:age",
        "user:job=cook",
        "user:job=poet",
        "item:year",
    ]
    np.testing.assert_array_equal(out["user:age"], [60.0, 20.0, 40.0])
    np.testing.assert_array_equal(out["user:job=poet"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(out["item:year"], [2000.0, 1990.0, 1990.0])
    assert out["user"].tolist() == ["cid", "ann", "bob"]


def test_unknown_ids_get_the_means_no_category_and_an_indicator():
    X = np.array([["dan", 3], ["ann", 1]], dtype=object)
    joiner = AttributeJoiner(USERS, ITEMS, add_indicator=True).fit(X)
    out = joiner.transform(X)
    assert out.loc[0, "user:age"] == 40.0  # the mean age of the table
    assert out.loc[0, ["user:job=cook", "user:job=poet"]].tolist() == [0.0, 0.0]
    assert out.loc[0, "item:year"] == 1995.0
    assert out["user:missing"].tolist() == [1.0, 0.0]
    assert out["item:missing"].tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(joiner.get_feature_names_out(), out.columns)


def test_extra_columns_pass_through_after_the_attributes():
    X = pd.DataFrame({"user": ["ann"], "item": [2], "hour": [13.0]})
    out = AttributeJoiner(USERS).fit_transform(X)
    assert out.columns.tolist()[-1] == "x2" and out["x2"].tolist() == [13.0]
    assert "item:year" not in out.columns


@pytest.mark.parametrize(
    ("users", "error", "message"),
    [
        (USERS.assign(age=[1.0, None, 3.0]), ValueError, "missing values"),
        (pd.concat([USERS, USERS.iloc[:1]]), ValueError, "repeated user ids"),
        (USERS.to_numpy(), Exception, "user_attributes"),
    ],
)
def test_bad_tables_are_clear_errors(users, error, message):
    with pytest.raises(error, match=message):
        AttributeJoiner(users).fit(np.array([["ann", 1]], dtype=object))


def test_a_pipeline_predicts_new_users_from_their_table_row(ml100k, movielens_home):
    from sklearn_mf.datasets import fetch_movielens

    users = fetch_movielens("100k", download_if_missing=False).users
    users = users[["age", "gender", "occupation"]]
    X, y = ml100k
    pipeline = make_pipeline(
        AttributeJoiner(user_attributes=users),
        MatrixFactorization(feature_factors=True, alpha=0.1, random_state=0),
    )
    fallback = MatrixFactorization(alpha=0.1, random_state=0)
    train, test = next(GroupKFold(5).split(X, y, groups=X["user"]))
    errors = {}
    for name, model in (("attributes", pipeline), ("ids only", fallback)):
        model = clone(model).fit(X.iloc[train], y.iloc[train])
        predicted = model.predict(X.iloc[test])
        errors[name] = np.sqrt(np.mean((predicted - y.iloc[test]) ** 2))
    # Every test user is new: its table row is all the pipeline knows of it.
    assert errors["attributes"] < errors["ids only"]
