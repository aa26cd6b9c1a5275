"""Exactly rounded sums: the same float for the same values in any order or split.

A float64 ``x`` is an integer mantissa ``m`` (``|m| < 2**53``) times a power of two;
its mantissa is added to the int64 bin of that power, so the bins hold the sum
exactly, whatever the order of the values. Every ``_NORMALISE_EVERY`` values, each
touched bin keeps a remainder of less than 2**31 and carries the rest 32 bins up (one unit there
is ``2**32`` units here), which keeps every bin far from overflow. The Python layer
adds bins of several arrays (partitions of a Dask fit) and rounds the total once.
No fast-math flags: the decomposition must be exact.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# Bin b holds multiples of 2**(b - OFFSET): a subnormal's mantissa (in units of
# 2**-1074 = 2**(52 - 1126)) lands in bin 52, that of the largest finite float in
# bin 2097; the bins above take carries.
OFFSET = 1126
N_BINS = 2048 + 128
_CARRY_BITS = 32
_HALF = np.int64(1) << (_CARRY_BITS - 1)
_NORMALISE_EVERY = 512  # |bin| < 2**31 + 512 * 2**53 < 2**63 between normalisations


@intrinsic
def _float_bits(typingctx, x):
    """The bits of the float64 ``x`` as an int64 (a bit cast: no conversion)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _normalise(bins, low, high):
    """Carry the high bits of ``bins[low:high + 1]`` upwards; return the new top."""
    b = low
    while b <= high:
        # Rounded to the nearest, so that each bin keeps a remainder in
        # [-2**31, 2**31): a small negative bin stays as it is instead of borrowing
        # from the bins above it.
        carry = (bins[b] + _HALF) >> _CARRY_BITS
        if carry != 0:
            bins[b] -= carry << _CARRY_BITS
            bins[b + _CARRY_BITS] += carry
            high = max(high, b + _CARRY_BITS)
        b += 1
    return high


@numba.njit(cache=True, error_model="numpy", nogil=True)
def accumulate(values, weights, bins):
    """Add ``values[r] * weights[r]`` (each product rounded as NumPy rounds it) of
    every row ``r`` to ``bins`` (shape ``(N_BINS,)``; ``weights`` may be a
    zero-stride view). Values of rows of zero weight are skipped, whatever they
    are; the others must be finite."""
    low, high, pending = N_BINS, -1, 0
    for r in range(values.shape[0]):
        if weights[r] == 0.0:  # no term, even where the value is not finite
            continue
        x = values[r] * weights[r]
        if x == 0.0:
            continue
        # Read off the bits (math.frexp would be a library call per value): a
        # normal float is (2**52 + fraction) * 2**(field - 1075), a subnormal
        # fraction * 2**-1074.
        bits = _float_bits(x)
        field = (bits >> 52) & 0x7FF
        mantissa = bits & 0xFFFFFFFFFFFFF
        if field:
            mantissa |= 0x10000000000000
        else:
            field = 1
        b = field - 1075 + OFFSET
        bins[b] += -mantissa if bits < 0 else mantissa
        low, high = min(low, b), max(high, b)
        pending += 1
        if pending == _NORMALISE_EVERY:
            high = _normalise(bins, low, high)
            pending = 0
    if high >= 0:
        _normalise(bins, low, high)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def accumulate_columns(values, weights, bins):
    """:func:`accumulate` for each column ``c`` of ``values`` (shape ``(n, d)``)
    into ``bins[c]`` (shape ``(d, N_BINS)``)."""
    for c in range(values.shape[1]):
        accumulate(values[:, c], weights, bins[c])
