"""Attribute factors (``feature_factors=True``): user and item attributes get latent
vectors, so unseen ids get personal predictions and rankings."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_mf import MatrixFactorization
from sklearn_mf._attributes import find_attributes
from sklearn_mf._solvers._implicit import AttributeTerm
from tests._problems import random_problem


def _grouped_ratings(n_users=120, n_items=80, n_ratings=4000, seed=0):
    """Ratings whose user and item vectors are set by one-hot groups (plus noise):
    X = [user, item, 3 user-group columns, 4 item-group columns, context]."""
    rng = np.random.RandomState(seed)
    user_group = rng.randint(3, size=n_users)
    item_group = rng.randint(4, size=n_items)
    user_vectors = rng.randn(3, 2)[user_group] + 0.3 * rng.randn(n_users, 2)
    item_vectors = rng.randn(4, 2)[item_group] + 0.3 * rng.randn(n_items, 2)
    users = rng.randint(n_users, size=n_ratings)
    items = rng.randint(n_items, size=n_ratings)
    context = rng.randn(n_ratings)
    y = (
        3.0
        + np.einsum("ij,ij->i", user_vectors[users], item_vectors[items])
        + 0.2 * context
        + 0.3 * rng.randn(n_ratings)
    )
    X = np.column_stack(
        [
            users,
            items,
            np.eye(3)[user_group[users]],
            np.eye(4)[item_group[items]],
            context,
        ]
    )
    return X, y


def test_attribute_columns_are_found_by_side():
    X, _ = _grouped_ratings()
    constant = np.ones((len(X), 1))
    features = np.hstack([X[:, 2:], constant])
    user_attributes, item_attributes = find_attributes(
        X[:, 0].astype(np.int32),
        X[:, 1].astype(np.int32),
        120,
        80,
        features,
    )
    np.testing.assert_array_equal(user_attributes.columns, [0, 1, 2])
    np.testing.assert_array_equal(item_attributes.columns, [3, 4, 5, 6])
    # Each id's values are those of its rows.
    first = np.flatnonzero(X[:, 0] == X[0, 0])[0]
    np.testing.assert_array_equal(
        user_attributes.values[int(X[0, 0])], features[first, :3]
    )


def test_fitted_attributes_name_each_column():
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2, feature_factors=True, random_state=0
    ).fit(X, y)
    assert model.feature_sides_.tolist() == ["user"] * 3 + ["item"] * 4 + ["rating"]
    assert model.feature_factors_.shape == (8, 2)
    assert not model.feature_factors_[-1].any()  # context: linear term only
    assert np.abs(model.feature_factors_[:-1]).max() > 0
    plain = MatrixFactorization(n_components=2, random_state=0).fit(X, y)
    assert plain.feature_sides_ is None and plain.feature_factors_ is None


def _attribute_problem(seed=0):
    rng = np.random.RandomState(seed)
    n_users, n_items, k, n = 7, 5, 2, 25
    users = np.arange(n) % n_users
    items = rng.randint(n_items, size=n)
    data, model = random_problem(
        rng, users, items, n_users, n_items, k, user_attribute_factors=(3, k)
    )
    values = rng.randn(n_users, 3)
    return data, model, values


def test_attribute_step_solves_its_ridge_problem():
    data, model, values = _attribute_problem()
    user_attributes, _ = find_attributes(
        data.user_codes,
        data.item_codes,
        data.n_users,
        data.n_items,
        values[data.user_codes],
    )
    term = AttributeTerm(data, "user", user_attributes)
    alpha = 0.4
    n_columns, k = model.user_attribute_factors.shape
    residual = (
        data.target
        - model.user_bias[data.user_codes]
        - model.item_bias[data.item_codes]
        - np.einsum(
            "ij,ij->i",
            model.user_factors[data.user_codes],
            model.item_factors[data.item_codes],
        )
    )
    # The V problem as one dense weighted ridge regression on vec(V).
    design = np.einsum(
        "rf,rj->rfj", values[data.user_codes], model.item_factors[data.item_codes]
    ).reshape(len(residual), n_columns * k)
    gram = design.T @ (
        data.weight[:, None] * design
    ) + alpha * data.total_weight * np.eye(n_columns * k)
    expected = np.linalg.solve(gram, design.T @ (data.weight * residual))
    vectors = model.user_attribute_factors
    term.step(
        vectors,
        model.coef,
        model.user_bias,
        model.item_bias,
        model.user_factors + term.sums(vectors),
        model.item_factors,
        alpha,
        n_columns * k,  # CG solves an n-dimensional quadratic in n steps
    )
    np.testing.assert_allclose(vectors.ravel(), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "cg"},
        {"solver": "als"},
        {"solver": "cg", "implicit_feedback": "both"},
    ],
)
def test_loss_never_increases(params):
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2,
        feature_factors=True,
        tol=None,
        max_iter=15,
        random_state=0,
        **params,
    ).fit(X, y)
    assert np.all(np.diff(model.loss_curve_) <= 1e-10 * model.loss_curve_[0])


def _cold_rmse(feature_factors, group_column, X, y):
    errors = []
    for train, test in GroupKFold(4).split(X, y, X[:, group_column]):
        # A fixed penalty: alpha="auto" tunes it for known ids, and both models
        # should be compared at the same one.
        model = MatrixFactorization(
            n_components=2, feature_factors=feature_factors, alpha=0.08, random_state=0
        ).fit(X[train], y[train])
        errors.append(np.mean((model.predict(X[test]) - y[test]) ** 2))
    return np.sqrt(np.mean(errors))


@pytest.mark.parametrize("group_column", [0, 1])
def test_unseen_ids_get_personal_predictions(group_column):
    # Users (items) held out whole are predicted through their group attributes:
    # far better than through the linear term alone.
    X, y = _grouped_ratings()
    linear = _cold_rmse(False, group_column, X, y)
    factors = _cold_rmse(True, group_column, X, y)
    assert factors < 0.85 * linear


def test_predict_describes_unknown_ids_by_their_row():
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2, feature_factors=True, clip=False, random_state=0
    ).fit(X, y)
    row = X[:1].copy()
    row[0, 0] = -5  # unknown user, known item
    centred = row[0, 2:] - model._state.feature_mean
    user_vector = centred[:3] @ model.feature_factors_[:3]
    item = list(model.items_).index(row[0, 1])
    expected = (
        model.global_mean_
        + model.item_bias_[item]
        + centred @ model.coef_
        + user_vector @ model._state.items.vectors[item]
    )
    np.testing.assert_allclose(model.predict(row), [expected], rtol=1e-12)
    # Known ids keep their fitted vectors whatever their row's attributes say.
    known = X[:1].copy()
    changed = known.copy()
    changed[0, 2:5] = [0.0, 0.0, 1.0] if known[0, 4] == 0 else [1.0, 0.0, 0.0]
    difference = model.predict(changed) - model.predict(known)
    linear = (changed[0, 2:5] - known[0, 2:5]) @ model.coef_[:3]
    np.testing.assert_allclose(difference, [linear], rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:.*unknown to the model")
def test_recommend_ranks_for_unknown_users_through_their_features():
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2, feature_factors=True, clip=False, random_state=0
    ).fit(X, y)
    features = np.zeros((2, 8))
    features[0, 0] = features[1, 2] = 1.0  # two new users from different groups
    features[:, 3] = 1.0  # item columns are not read for users
    ids, scores = model.recommend(["new", "newer"], n=80, user_features=features)
    # The scores are predict's, with the item's own attributes and no context.
    for row in range(2):
        items = ids[row]
        rows = np.column_stack(
            [
                np.full(80, -1),
                items,
                np.tile(features[row, :3], (80, 1)),
                np.zeros((80, 5)),
            ]
        )
        item_rows = {item: X[X[:, 1] == item][0, 5:9] for item in items}
        rows[:, 5:9] = [item_rows[item] for item in items]
        rows[:, 9] = model._state.feature_mean[-1]  # context at its mean
        np.testing.assert_allclose(model.predict(rows), scores[row], rtol=1e-9)
    assert ids[0].tolist() != ids[1].tolist()
    without = model.recommend(["new"], n=5)[0]
    # Without features, the most rated items.
    counts = np.array([np.sum(X[:, 1] == item) for item in model.items_])
    best = np.argsort(-counts, kind="stable")[:5]
    np.testing.assert_array_equal(without[0], model.items_[best])


def test_recommend_ranks_unknown_items_through_their_features():
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2, feature_factors=True, clip=False, random_state=0
    ).fit(X, y)
    candidates = ["a", "b", "c", "d"]
    features = np.zeros((4, 8))
    features[np.arange(4), 3 + np.arange(4)] = 1.0  # one new item per group
    ids, scores = model.recommend(
        model.users_, n=4, items=candidates, item_features=features
    )
    assert len({tuple(row) for row in ids}) > 1  # the ranking differs by user


def test_recommend_feature_arguments_are_validated():
    X, y = _grouped_ratings()
    model = MatrixFactorization(n_components=2, feature_factors=True).fit(X, y)
    with pytest.raises(ValueError, match=r"user_features must have shape \(1, 8\)"):
        model.recommend([1], user_features=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.recommend([1], user_features=np.full((1, 8), np.nan))
    plain = MatrixFactorization(n_components=2).fit(X, y)
    with pytest.raises(ValueError, match="feature_factors=True"):
        plain.recommend([1], user_features=np.zeros((1, 8)))


def test_sgd_rejects_feature_factors():
    X, y = _grouped_ratings()
    with pytest.raises(ValueError, match="feature_factors=True is supported by"):
        MatrixFactorization(solver="sgd", feature_factors=True).fit(X, y)


def test_warm_start_keeps_the_attribute_factors():
    X, y = _grouped_ratings()
    model = MatrixFactorization(
        n_components=2, feature_factors=True, max_iter=30, random_state=0
    ).fit(X, y)
    previous = model.feature_factors_.copy()
    model.set_params(warm_start=True, max_iter=1, tol=None).fit(X, y)
    np.testing.assert_allclose(model.feature_factors_, previous, atol=0.05)


def test_pipeline_with_one_hot_attributes():
    X, y = _grouped_ratings()
    frame = pd.DataFrame(
        {
            "user": X[:, 0].astype(int),
            "item": X[:, 1].astype(int),
            "occupation": np.array(["a", "b", "c"])[X[:, 2:5].argmax(axis=1)],
            "genre": np.array(["w", "x", "y", "z"])[X[:, 5:9].argmax(axis=1)],
        }
    )
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("ids", "passthrough", ["user", "item"]),
                ("attributes", OneHotEncoder(), ["occupation", "genre"]),
            ],
            sparse_threshold=0,
        ),
        MatrixFactorization(n_components=2, feature_factors=True, random_state=0),
    )
    pipeline.fit(frame, y)
    model = pipeline[-1]
    assert model.feature_sides_.tolist() == ["user"] * 3 + ["item"] * 4
    new_user = frame.iloc[:3].assign(user=10_000)
    predictions = pipeline.predict(new_user)
    assert np.isfinite(predictions).all()
    # Two new users with different occupations get different predictions.
    other = new_user.assign(
        occupation="c" if new_user.occupation.iloc[0] != "c" else "a"
    )
    assert not np.allclose(pipeline.predict(other), predictions)


def test_cold_items_beat_the_fallback_on_ml100k(ml100k):
    from sklearn_mf.datasets import fetch_movielens

    X, y = ml100k
    genres = fetch_movielens("100k", download_if_missing=False).movies.iloc[:, 3:]
    X = X.join(genres.astype(float), on="item")
    errors = {"fallback": [], "factors": []}
    for train, test in GroupKFold(5).split(X, y, X["item"]):
        for name, columns, feature_factors in (
            ("fallback", ["user", "item"], False),
            ("factors", list(X.columns), True),
        ):
            model = MatrixFactorization(
                feature_factors=feature_factors, random_state=0
            ).fit(X.iloc[train][columns], y.iloc[train])
            predicted = model.predict(X.iloc[test][columns])
            errors[name].append(np.mean((predicted - y.iloc[test]) ** 2))
    fallback, factors = (np.sqrt(np.mean(errors[k])) for k in ("fallback", "factors"))
    assert factors < fallback - 0.015


def test_early_stopping_scores_unknown_ids_as_predict_does():
    from sklearn_mf.utils._random import SEED_MAX

    X, y = _grouped_ratings(n_users=400, n_ratings=1500)  # many users rated once
    model = MatrixFactorization(
        n_components=2,
        feature_factors=True,
        early_stopping=True,
        max_iter=1,
        tol=None,
        random_state=0,
    ).fit(X, y)
    # The validation rows, drawn as fit draws them.
    split_seed = np.random.RandomState(0).randint(SEED_MAX, size=3)[2]
    order = np.random.RandomState(split_seed).permutation(len(y))
    validation = order[: int(np.ceil(0.1 * len(y)))]
    assert (~np.isin(X[validation, 0], model.users_)).any()
    rmse = np.sqrt(np.mean((model.predict(X[validation]) - y[validation]) ** 2))
    assert model.validation_scores_[0] == pytest.approx(rmse, rel=1e-9)
