"""Exactly rounded sums over the ratings: the global mean, the spread, the weights.

A sum of floats rounds differently when its terms come in another order or in
several parts, and a model that starts from a mean one unit in the last place away
can end far away once its factors are read in float32 (see ``gathers_in_float32``).
These sums are exact before the one final rounding, so a fit gives the same model
for its rows in any order, and a distributed fit that adds its partitions' sums gives
the model of one machine.
"""

from dataclasses import dataclass

import numpy as np

from ._kernels._exact import N_BINS, OFFSET, accumulate, accumulate_columns


@dataclass(frozen=True)
class ExactSum:
    """The exact sum of some values (one per column for 2-D values), held as bins
    of integers: partial sums add exactly with ``+``, and :meth:`value` rounds."""

    bins: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray | None = None) -> "ExactSum":
        """The sum over axis 0 of ``values * weights`` (``weights`` broadcast along
        the rows; None: ones), each product rounded as NumPy rounds it."""
        values = np.asarray(values, dtype=np.float64)
        if weights is None:
            weights = np.broadcast_to(np.float64(1.0), values.shape[:1])
        if values.ndim == 1:
            bins = np.zeros(N_BINS, dtype=np.int64)
            accumulate(values, weights, bins)
        else:
            bins = np.zeros((values.shape[1], N_BINS), dtype=np.int64)
            if values.shape[1]:  # no columns, no kernel to compile on a first fit
                accumulate_columns(values, weights, bins)
        return cls(bins)

    def __add__(self, other: "ExactSum") -> "ExactSum":
        # Normalised bins are below 2**31 in magnitude: adding billions of partial
        # sums cannot overflow.
        return ExactSum(self.bins + other.bins)

    def value(self) -> float | np.ndarray:
        """The sum, rounded once (a float, or an array of one per column)."""
        if self.bins.ndim == 1:
            return _rounded(self.bins)
        return np.array([_rounded(column) for column in self.bins])


def _rounded(bins: np.ndarray) -> float:
    total = 0
    for b in np.flatnonzero(bins)[::-1]:
        total += int(bins[b]) << int(b)
    # Python's integer division rounds correctly to the nearest float.
    return total / (1 << OFFSET)


def exact_sum(
    values: np.ndarray, weights: np.ndarray | None = None
) -> float | np.ndarray:
    """``sum(values * weights)`` over axis 0, exactly rounded (see :class:`ExactSum`)."""
    return ExactSum.of(values, weights).value()
