"""Small random rating problems for the tests of the solvers' terms and kernels."""

import numpy as np

from sklearn_mf._ratings import RatingData
from sklearn_mf._solvers import FactorModel


def random_problem(rng, users, items, n_users, n_items, k, **terms):
    """``(RatingData, FactorModel)``: the ratings of ``users`` and ``items`` (codes)
    with random targets and weights, and a random model; ``terms`` maps further
    ``FactorModel`` fields to the shapes of random arrays drawn for them last."""
    n = len(users)
    data = RatingData(
        np.asarray(users, dtype=np.int32),
        np.asarray(items, dtype=np.int32),
        rng.randn(n),
        0.0,
        1.0,
        rng.uniform(0.5, 2.0, n),
        np.zeros((n, 0)),
        n_users,
        n_items,
        k,
        2,
    )
    model = FactorModel(
        rng.randn(n_users),
        rng.randn(n_items),
        rng.randn(n_users, k),
        rng.randn(n_items, k),
        np.zeros(0),
        **{name: rng.randn(*shape) for name, shape in terms.items()},
    )
    return data, model


def small_implicit_problem():
    """A few users and items with a random model that has the users' implicit term."""
    rng = np.random.RandomState(0)
    n_users, n_items, k = 6, 5, 2
    pairs = np.array([(u, i) for u in range(n_users) for i in range(n_items)])
    pairs = pairs[rng.rand(len(pairs)) < 0.7]
    return random_problem(
        rng, pairs[:, 0], pairs[:, 1], n_users, n_items, k, item_implicit=(n_items, k)
    )


def dense_sums(data):
    """The matrix S B mapping item vectors y to the users' implicit vectors z."""
    mapping = np.zeros((data.n_users, data.n_items))
    np.add.at(mapping, (data.user_codes, data.item_codes), data.weight)
    return mapping / np.sqrt(mapping.sum(axis=1, keepdims=True))
