"""Raw ids to codes: canonical forms, sorting, lookup of unknown ids."""

import numpy as np
import pytest

from sklearn_mf._ids import canonical_ids, encode_ids, lookup_codes


def test_integral_floats_are_the_same_id_as_ints():
    ids = canonical_ids(np.array([1.0, 2.0, 3.0]), "user")
    assert ids.dtype == np.int64
    known, _ = encode_ids(canonical_ids(np.array([1, 2, 3]), "user"))
    np.testing.assert_array_equal(lookup_codes(known, ids), [0, 1, 2])


def test_strings_and_numbers_are_different_ids():
    known, codes = encode_ids(
        canonical_ids(np.array(["1", 1, 1.0, "a"], dtype=object), "u")
    )
    assert list(known) == [1, "1", "a"]
    np.testing.assert_array_equal(codes, [1, 0, 0, 2])


def test_unknown_ids_map_to_minus_one():
    known, _ = encode_ids(canonical_ids(np.array(["x", "y"], dtype=object), "u"))
    query = canonical_ids(np.array(["y", "z", 3], dtype=object), "u")
    np.testing.assert_array_equal(lookup_codes(known, query), [1, -1, -1])
    numeric_known, _ = encode_ids(np.array([5, 9]))
    np.testing.assert_array_equal(
        lookup_codes(numeric_known, np.array([9, 10, 1])), [1, -1, -1]
    )


def test_huge_python_ints_stay_distinct():
    ids = canonical_ids(np.array([2**70, 2**70 + 1, 0.5], dtype=object), "user")
    known, codes = encode_ids(ids)
    assert len(known) == 3 and len(set(codes)) == 3
    assert list(lookup_codes(known, np.array([2**70 + 1], dtype=object))) == [2]


def test_non_integral_floats_stay_floats():
    ids = canonical_ids(np.array([0.5, 2.0]), "user")
    assert ids.dtype == np.float64


def test_large_int64_ids_are_exact():
    big = np.array([2**62 + 1, 2**62 + 2], dtype=np.int64)
    known, codes = encode_ids(canonical_ids(big, "user"))
    np.testing.assert_array_equal(known, big)
    np.testing.assert_array_equal(codes, [0, 1])


@pytest.mark.parametrize(
    "values, error, match",
    [
        (np.array([1.0, np.nan]), ValueError, "NaN"),
        (np.array(["a", None], dtype=object), ValueError, "NaN or None"),
        (np.array([1.0, np.inf]), ValueError, "infinity"),
        (np.array([1, {"a": 1}], dtype=object), TypeError, "hashable"),
        (np.array([1 + 1j]), ValueError, "Complex"),
    ],
)
def test_bad_ids_raise(values, error, match):
    with pytest.raises(error, match=match):
        canonical_ids(values, "user (column 0)")


@pytest.mark.parametrize("spread", [3, 600, 10**12])
def test_integer_encoding_matches_np_unique(spread):
    # Dense ranges (all values present, or with gaps) take a presence-table path,
    # sparse ones np.unique: same result.
    ids = np.random.RandomState(0).randint(-spread, spread, 500).astype(np.int64)
    known, codes = encode_ids(ids)
    expected_known, expected_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(known, expected_known)
    np.testing.assert_array_equal(codes, expected_codes)
    assert known.dtype == np.int64 and codes.dtype == np.int32
