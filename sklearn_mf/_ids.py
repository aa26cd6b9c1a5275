"""Mapping between raw user/item ids and contiguous integer codes.

Raw ids may be any hashable scalar: integers, floats, strings, dates. Integral floats
are the same id as the equal integer (``1 == 1.0``), while ``"1"`` and ``1`` are two
ids; dates are the same ids in any unit or time zone.
Codes are ``int32`` positions into the sorted array of known ids; ids unseen at fit
time map to ``-1`` so that the prediction kernels can apply the cold-start fallbacks.
"""

import warnings
from decimal import Decimal
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._kernels._sort import dense_codes

UNKNOWN = -1

# Ids that are plain numbers take a fast vectorised path (np.unique/searchsorted);
# anything else (strings, mixed columns) goes through a pandas hash table.
_NUMERIC_KINDS = "biuf"


def _reject_missing(values: np.ndarray, name: str) -> None:
    missing = pd.isna(values)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"Input X contains NaN or None in the {name} column (first at row {row}); "
            "every rating needs a user id and an item id."
        )


def _canonical_numeric(values: np.ndarray, name: str) -> np.ndarray:
    """Return numeric ids as int64 when they are all integral, float64 otherwise."""
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind in "iu":
        if (
            values.dtype.kind == "u"
            and values.size
            and values.max() > np.iinfo(np.int64).max
        ):
            # Beyond int64: Python integers, as the same ids from a list would be.
            return canonical_ids(values.astype(object), name)
        return values.astype(np.int64, copy=False)
    values = values.astype(np.float64, copy=False)
    _reject_missing(values, name)
    if not np.isfinite(values).all():
        raise ValueError(
            f"Input X contains infinity in the {name} column; ids must be finite."
        )
    integral = np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63)
    return values.astype(np.int64) if integral else values


def _canonical_scalar(value, name: str):
    """Normalise one id of an object column; raise for unusable ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.datetime64):  # numpy counts time spans as integers
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, complex):
        raise ValueError(
            f"Complex data not supported: {name} ids must be real numbers or strings."
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(
            f"Input X contains infinity or NaN in the {name} column; ids must be "
            "finite."
        )
    if isinstance(value, Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(
                f"Input X contains infinity in the {name} column; ids must be finite."
            )
        return int(value) if value.is_integer() else value
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"{name} ids must be hashable scalars: argument must be a string or a number, "
            f"got {type(value).__name__}."
        ) from None
    return value


# The unit of canonical date and time-span ids: pandas' own, so that the same instants
# given in any unit (datetime64[us] from parquet, [s], [ns]) are the same ids.
_TIME_UNIT = "ns"


def _canonical_times(values: np.ndarray, name: str) -> np.ndarray:
    """Return datetime64 or timedelta64 ids in nanoseconds."""
    _reject_missing(values, name)
    kind = "datetime64" if values.dtype.kind == "M" else "timedelta64"
    out = values.astype(f"{kind}[{_TIME_UNIT}]")
    if not np.array_equal(out.astype(values.dtype), values):
        raise ValueError(
            f"The {name} ids include {kind} values outside the range of "
            f"{kind}[{_TIME_UNIT}] (about the years 1678 to 2261)."
        )
    return out


def _canonical_objects(values: np.ndarray, name: str) -> np.ndarray | None:
    """The canonical form of an object column of one common type, vectorised; None
    when it needs the element-by-element normalisation (mixed or other types)."""
    inferred = pd.api.types.infer_dtype(values, skipna=False)
    if inferred in ("string", "empty"):
        return values  # strings are canonical as they are
    if inferred in ("integer", "boolean", "floating"):
        try:
            numeric = values.astype(np.float64 if inferred == "floating" else np.int64)
        except OverflowError:  # integers beyond int64 stay Python objects
            return None
        return _canonical_numeric(numeric, name)
    if inferred in ("datetime64", "datetime", "timedelta64", "timedelta"):
        try:
            if inferred.startswith("datetime"):
                index = pd.DatetimeIndex(values)
                if index.tz is not None:  # one instant, whatever its time zone
                    index = index.tz_convert("UTC").tz_localize(None)
            else:
                index = pd.TimedeltaIndex(values)
        except (TypeError, ValueError):  # mixed time zones and the like
            return None
        return _canonical_times(index.to_numpy(), name)
    return None


def canonical_ids(values, name: str) -> np.ndarray:
    """Validate one id column and return it in canonical form.

    Numeric columns come back as int64 (all integral) or float64 arrays, dates and
    time spans as datetime64/timedelta64 in nanoseconds, strings as an object array
    of ``str``; other columns as object arrays whose numbers are normalised so that
    equal ids compare equal. The container does not matter: a list, an ndarray, a
    Series or an Arrow-backed column of the same values give the same ids.
    """
    if not hasattr(values, "dtype"):
        # A list keeps each element's type and shape: 1 and "1" stay two ids, a
        # tuple stays one id (numpy's conversion would make strings, or a 2-D array).
        values = np.fromiter(values, dtype=object, count=len(values))
    values = np.asarray(values)
    if values.dtype.kind in _NUMERIC_KINDS:
        return _canonical_numeric(values, name)
    if values.dtype.kind in "Mm":
        return _canonical_times(values, name)
    if values.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} ids must be real numbers or strings."
        )
    values = values.astype(object, copy=False)
    _reject_missing(values, name)
    canonical = _canonical_objects(values, name)
    if canonical is not None:
        return canonical
    out = np.empty(values.shape[0], dtype=object)
    out[:] = [_canonical_scalar(v, name) for v in values]
    kinds = {type(v) for v in out}
    if kinds and kinds <= {int, float}:
        # Plain numbers take the fast numeric path when the conversion is exact; huge
        # integers stay Python objects so that distinct ids never merge.
        dtype, limit = (np.int64, 2**63) if kinds == {int} else (np.float64, 2**53)
        if all(-limit <= v < limit for v in out if type(v) is int):
            return _canonical_numeric(out.astype(dtype), name)
    return out


def _sort_key(value):
    # Numbers sort before strings, strings before other hashables, so that mixed id
    # columns still get a deterministic order for ``users_``/``items_``.
    if isinstance(value, (int, float)):
        return (0, value, "")
    if isinstance(value, str):
        return (1, 0, value)
    return (2, 0, f"{type(value).__name__}:{value!r}")


def _encode_dense_integers(
    ids: np.ndarray, low: int, high: int
) -> tuple[np.ndarray, np.ndarray]:
    # Integer ids spanning a range not much larger than their count (the usual
    # 1..n numbering) are encoded through a presence table in linear time, several
    # times faster than the sort inside np.unique.
    code_of = np.zeros(high - low + 1, dtype=np.int32)
    codes = np.empty(ids.shape[0], dtype=np.int32)
    dense_codes(ids, low, code_of, codes)
    return np.flatnonzero(code_of >= 0) + low, codes


def _factorize_objects(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of an object id array, in order of first appearance."""
    codes, uniques = pd.factorize(ids, sort=False)
    # pandas hashes strings as C strings: two ids that differ after a NUL byte would
    # be one. Checking the round trip costs a comparison per id; a dictionary
    # encodes the rare columns where it fails.
    if not (uniques[codes] == ids).all():
        first: dict = {}
        codes = np.array([first.setdefault(v, len(first)) for v in ids], dtype=np.intp)
        uniques = np.empty(len(first), dtype=object)
        uniques[:] = list(first)
    return codes, uniques


def encode_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct ids and the int32 code of every entry of ``ids``.

    ``ids`` are canonical ids as returned by :func:`canonical_ids`.
    """
    if ids.dtype.kind == "i" and ids.size:
        low, high = int(ids.min()), int(ids.max())
        if high - low < 4 * ids.size:
            return _encode_dense_integers(ids, low, high)
    if ids.dtype != object:
        uniques, codes = np.unique(ids, return_inverse=True)
        return uniques, codes.astype(np.int32)
    codes, uniques = _factorize_objects(ids)
    order = sorted(range(len(uniques)), key=lambda k: _sort_key(uniques[k]))
    rank = np.empty(len(uniques), dtype=np.int32)
    rank[order] = np.arange(len(uniques), dtype=np.int32)
    sorted_ids = np.empty(len(uniques), dtype=object)
    sorted_ids[:] = [uniques[k] for k in order]
    return sorted_ids, rank[codes]


def lookup_codes(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Return the int32 position of each canonical id in ``known``, -1 where absent.

    ``known`` is a sorted array of distinct ids as returned by :func:`encode_ids`.
    """
    if ids.dtype != object and known.dtype != object:
        if _time_kind(ids) != _time_kind(known):  # dates are not numbers
            return np.full(ids.shape[0], UNKNOWN, dtype=np.int32)
        if ids.dtype != known.dtype:  # int64 against float64: compare exactly
            return _lookup_across_dtypes(known, ids)
        return _sorted_lookup(known, ids)
    index = pd.Index(known, dtype=object)
    return index.get_indexer(pd.Index(ids, dtype=object)).astype(np.int32)


def _sorted_lookup(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if known.size == 0:
        return np.full(ids.shape[0], UNKNOWN, dtype=np.int32)
    if known.dtype.kind == "i" and int(known[-1]) - int(known[0]) < 4 * known.size:
        return _dense_lookup(known, ids)
    pos = np.minimum(np.searchsorted(known, ids), known.size - 1)
    return np.where(known[pos] == ids, pos, UNKNOWN).astype(np.int32)


def _dense_lookup(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    # Integer ids numbered about densely (as encode_ids's fast path takes them) are
    # looked up in a table of codes: linear time, where a binary search is not.
    low = known[0]
    code_of = np.full(int(known[-1]) - int(low) + 1, UNKNOWN, dtype=np.int32)
    code_of[known - low] = np.arange(known.size, dtype=np.int32)
    inside = (ids >= low) & (ids <= known[-1])
    codes = np.full(ids.shape[0], UNKNOWN, dtype=np.int32)
    codes[inside] = code_of[ids[inside] - low]
    return codes


def _lookup_across_dtypes(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Codes of int64 ids among float64 known ids, or the reverse, compared exactly.

    Comparing them directly would go through float64, where integers beyond 2**53
    round: 2**53 + 1 would find 2.0**53. Only integral floats can equal integers, and
    those (below 2**63 in magnitude) convert to int64 exactly.
    """
    floats, ints = (known, ids) if known.dtype.kind == "f" else (ids, known)
    integral = (floats == np.round(floats)) & (np.abs(floats) < 2.0**63)
    out = np.full(ids.shape[0], UNKNOWN, dtype=np.int32)
    if known is floats:  # integer ids among the integral known floats
        rows = np.flatnonzero(integral)
        codes = _sorted_lookup(floats[rows].astype(np.int64), ids)
        found = codes >= 0
        out[found] = rows[codes[found]]
    else:  # integral float ids among the known integers
        rows = np.flatnonzero(integral)
        out[rows] = _sorted_lookup(known, floats[rows].astype(np.int64))
    return out


def as_objects(ids: np.ndarray) -> np.ndarray:
    """Canonical ids as an object array of their values (Timestamps for dates, not
    the integers of their unit)."""
    if ids.dtype.kind in "Mm":
        return pd.Index(ids).astype(object).to_numpy()
    return ids.astype(object)


def _time_kind(ids: np.ndarray) -> str:
    return ids.dtype.kind if ids.dtype.kind in "Mm" else ""


def id_kind(ids: np.ndarray) -> str:
    """What an id array holds, in words: numbers, strings, dates, ..."""
    kind = ids.dtype.kind
    if kind in "iuf":
        return "numbers"
    if kind in "Mm":
        return "dates" if kind == "M" else "time spans"
    inferred = pd.api.types.infer_dtype(ids, skipna=False)
    return {
        "string": "strings",
        "bytes": "bytes",
        "date": "dates",
        "integer": "numbers",
        "mixed-integer-float": "numbers",
    }.get(inferred, "values of mixed types")


def warn_if_mistyped(
    known: np.ndarray, ids: np.ndarray, codes: np.ndarray, name: str, stacklevel: int
) -> None:
    """Warn when most of ``ids`` are unknown (code -1) and they are of another kind
    than the ``known`` ids: strings against numbers, say, which never match."""
    n_unknown = int(np.count_nonzero(codes < 0))
    if 2 * n_unknown <= ids.shape[0]:
        return
    kind, known_kind = id_kind(ids), id_kind(known)
    if kind != known_kind:
        warnings.warn(
            f"{n_unknown} of the {ids.shape[0]} {name} ids are unknown to the model: "
            f"they are {kind}, while the {name} ids it was fitted on are {known_kind} "
            "(the id 1 and the id '1' are two ids). Convert them to the type of the "
            "fitted ids if they are meant to match.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def id_seeds(ids: np.ndarray) -> np.ndarray:
    """A well-mixed uint64 per id, the same for equal ids in any fit."""
    try:
        return pd.util.hash_array(ids)
    except (TypeError, ValueError, UnicodeEncodeError):
        # pandas cannot hash tuples of several lengths next to scalars, or strings
        # with lone surrogates: hash their (ASCII) representations instead.
        return pd.util.hash_array(np.array([ascii(v) for v in ids], dtype=object))
