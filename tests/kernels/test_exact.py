"""Exactly rounded sums against math.fsum and fractions (exactly rounded too): in
any order, in any split, at the ends of the float range."""

import math
from fractions import Fraction

import numpy as np
import pytest

from sklearn_mf._sums import ExactSum, exact_sum


def _values(seed: int, n: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, n)


@pytest.mark.parametrize("seed", range(3))
def test_the_exactly_rounded_sum_in_any_order_and_split(seed):
    values = _values(seed)
    expected = math.fsum(values)
    assert exact_sum(values) == expected
    shuffled = np.random.default_rng(seed).permutation(values)
    assert exact_sum(shuffled) == expected
    parts = np.array_split(shuffled, 7)
    total = ExactSum.of(parts[0])
    for part in parts[1:]:
        total = total + ExactSum.of(part)
    assert total.value() == expected


def test_weighted_and_column_sums_round_each_product_as_numpy():
    values = _values(3, 5000).reshape(2500, 2)
    weights = np.random.default_rng(0).uniform(0, 3, 2500)
    np.testing.assert_array_equal(
        exact_sum(values, weights),
        [math.fsum(values[:, c] * weights) for c in range(2)],
    )
    unit = np.broadcast_to(np.float64(1.0), (2500,))  # zero-stride weights
    assert exact_sum(values[:, 0], unit) == math.fsum(values[:, 0])
    np.testing.assert_array_equal(exact_sum(np.zeros((0, 3))), np.zeros(3))
    np.testing.assert_array_equal(exact_sum(np.zeros((4, 0))), np.zeros(0))


@pytest.mark.parametrize(
    "values",
    [
        [1e308, 1e308, -1e308],
        [5e-324, 5e-324, 5e-324],
        [1.0, 1e-300, -1.0],
        [-1.5, 0.25],
        [0.0, -0.0],
        [],
        [-1.0] * 100_000,
        [2.0**52, 1.0, -(2.0**52)],
    ],
)
def test_extremes_cancellation_and_negatives(values):
    # Fractions add exactly, and their float() rounds correctly.
    expected = float(sum((Fraction(v) for v in values), Fraction(0)))
    assert exact_sum(np.array(values, dtype=float)) == expected


def test_rows_of_zero_weight_are_skipped_whatever_their_value():
    values = np.array([np.inf, 1.0, -np.inf, 2.5])
    weights = np.array([0.0, 1.0, 0.0, 2.0])
    assert exact_sum(values, weights) == 6.0
