"""Named bundles of the arrays the kernels take.

Numba passes NamedTuples of arrays by value, at no cost: a kernel reads
``ratings.target`` as it would a ``target`` argument. Bundles keep arrays of the
same type from being swapped silently in a long argument list, and name what each
one is.
"""

from typing import NamedTuple

import numpy as np


class Ratings(NamedTuple):
    """The ratings of one side grouped by row (CSR).

    The ratings of row ``r`` are the positions ``indptr[r]:indptr[r + 1]``; at each,
    ``other`` holds the other side's code (int32, sorted within a row), ``target`` the
    standardised rating net of the global mean and the feature term, and ``weight``
    the relative sample weight (possibly a zero-stride view of ones).
    """

    indptr: np.ndarray
    other: np.ndarray
    target: np.ndarray
    weight: np.ndarray


class Side(NamedTuple):
    """One side's parameters: a bias (shape ``(n_rows,)``) and a vector (shape
    ``(n_rows, k)``) per row."""

    bias: np.ndarray
    vectors: np.ndarray


class Penalty(NamedTuple):
    """The L2 penalties per unit of rating weight: ``alpha`` on the vectors,
    ``alpha_bias`` on the biases (and feature coefficients); ``fit_bias`` says
    whether biases are fitted at all."""

    alpha: float
    alpha_bias: float
    fit_bias: bool


class Prior(NamedTuple):
    """A normal prior: ``mean`` and ``precision`` (scalars, or one per factor)."""

    mean: np.ndarray | float
    precision: np.ndarray | float


class ShuffledRatings(NamedTuple):
    """The ratings in SGD's storage order: per rating, the user and item codes, the
    standardised target, the weight and the (standardised) feature row, all float32
    but the codes."""

    users: np.ndarray
    items: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    features: np.ndarray
