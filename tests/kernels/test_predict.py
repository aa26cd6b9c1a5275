"""The prediction kernel (``_kernels._predict``)."""

import numpy as np

from sklearn_mf._kernels._predict import predict_codes
from sklearn_mf._kernels._types import Side


def test_predict_codes_applies_fallbacks_and_clipping():
    user_bias, item_bias = np.array([0.5, -0.5]), np.array([1.0, 2.0])
    p, q = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[1.0, 1.0], [2.0, 0.0]])
    users = np.array([0, 1, -1, 0, -1], dtype=np.int32)
    items = np.array([1, 0, 1, -1, -1], dtype=np.int32)
    base = np.full(5, 3.0)
    out = np.empty(5)
    sides = Side(user_bias, p), Side(item_bias, q)
    predict_codes(users, items, base, *sides, -np.inf, np.inf, out)
    expected = [3 + 0.5 + 2 + 2, 3 - 0.5 + 1 + 1, 3 + 2, 3 + 0.5, 3]
    np.testing.assert_allclose(out, expected)
    predict_codes(users, items, base, *sides, 1.0, 5.0, out)
    np.testing.assert_allclose(out, np.clip(expected, 1, 5))
