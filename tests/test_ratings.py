"""The training ratings' indexes: counting sorts, per-side CSR, unit weights."""

import numpy as np
import pytest

from sklearn_mf._kernels._sort import _KEYS_PER_PASS
from sklearn_mf._ratings import RatingData, group_by_key, unit_weights


def test_group_by_key_is_a_stable_counting_sort():
    keys = np.random.RandomState(0).randint(0, 7, 1000).astype(np.int32)
    indptr, order = group_by_key(keys, 9)
    np.testing.assert_array_equal(order, np.argsort(keys, kind="stable"))
    np.testing.assert_array_equal(np.diff(indptr), np.bincount(keys, minlength=9))
    assert order.dtype == np.int32


def _data(weight, n_users=20, n_items=30):
    rng = np.random.RandomState(1)
    n = 500
    users = rng.randint(0, n_users, n).astype(np.int32)
    items = rng.randint(0, n_items, n).astype(np.int32)
    # Codes either side of each boundary between the scatters' passes.
    for codes, n_codes in ((users, n_users), (items, n_items)):
        edges = np.arange(_KEYS_PER_PASS, n_codes, _KEYS_PER_PASS)
        edges = np.concatenate((edges - 1, edges))
        codes[rng.choice(n, edges.size, replace=False)] = edges
    y = rng.uniform(1, 5, n)
    return RatingData(
        users, items, y, 3.0, 1.0, weight, np.zeros((n, 0)), n_users, n_items, 4, 3
    )


# Few codes (pairs repeat), and more codes on both sides than one pass of the
# scatters takes, so that they run in several (two and three) passes.
@pytest.mark.parametrize(
    "n_users, n_items", [(20, 30), (2 * _KEYS_PER_PASS + 7, _KEYS_PER_PASS + 3)]
)
def test_side_index_groups_rows_and_sorts_each_by_the_other_side(n_users, n_items):
    data = _data(np.random.RandomState(2).uniform(0.5, 2.0, 500), n_users, n_items)
    for side, rows, others in (
        (data.by_user, data.user_codes, data.item_codes),
        (data.by_item, data.item_codes, data.user_codes),
    ):
        np.testing.assert_array_equal(
            rows[side.order],
            np.repeat(np.arange(len(side.indptr) - 1), np.diff(side.indptr)),
        )
        # Ties (a repeated pair) keep their rating order: the same as a stable sort.
        np.testing.assert_array_equal(side.order, np.lexsort((others, rows)))
        np.testing.assert_array_equal(side.other, others[side.order])
        np.testing.assert_allclose(side.target, data.y[side.order] - 3.0)
        np.testing.assert_array_equal(side.weight, data.weight[side.order])
        for r in range(len(side.indptr) - 1):
            assert np.all(np.diff(side.other[side.indptr[r] : side.indptr[r + 1]]) >= 0)


def test_unit_weights_take_no_memory_and_count_like_ones():
    weight = unit_weights(500)
    assert weight.strides == (0,) and not weight.flags.writeable
    data, ones = _data(weight), _data(np.ones(500))
    assert data.by_user.weight.strides == (0,)  # never materialised
    np.testing.assert_array_equal(data.user_weight, ones.user_weight)
    np.testing.assert_array_equal(data.item_weight, ones.item_weight)
    assert data.total_weight == ones.total_weight == 500
