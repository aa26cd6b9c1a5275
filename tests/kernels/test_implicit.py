"""The implicit-feedback kernels (``_kernels._implicit``)."""

import numpy as np

from sklearn_mf._kernels._implicit import scaled_sums
from sklearn_mf._solvers._implicit import ImplicitTerm
from tests._problems import dense_sums as _dense_sums


def test_implicit_sums_and_their_transpose_match_dense_algebra(small_data):
    data, model = small_data
    term = ImplicitTerm(data, "user")
    dense = _dense_sums(data)
    np.testing.assert_allclose(
        term.sums(model.item_implicit), dense @ model.item_implicit, rtol=1e-12
    )
    side = data.by_item
    per_user = np.random.RandomState(1).randn(data.n_users, 2)
    out = np.empty((data.n_items, 2))
    scaled_sums(
        side.chunks,
        side.ratings(),
        np.ones(data.n_items),
        term.row_scale,
        per_user,
        out,
    )
    np.testing.assert_allclose(out, dense.T @ per_user, rtol=1e-12)
