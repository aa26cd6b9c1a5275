"""Synthetic rating data with a planted low-rank structure."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_ratings"]

# Rows per block when computing the ratings, so that the gathered factor rows take
# tens of megabytes rather than n_ratings * n_components * 8 bytes at once.
_CHUNK = 1 << 20


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def _check_real(name: str, value, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}.")
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        bound = "finite" if minimum is None else f"finite and >= {minimum}"
        raise ValueError(f"{name} must be {bound}; got {value}.")
    return float(value)


def _check_rating_range(rating_range) -> tuple[float, float] | None:
    if rating_range is None:
        return None
    if not isinstance(rating_range, tuple | list) or len(rating_range) != 2:
        raise TypeError(
            f"rating_range must be None or (low, high); got {rating_range!r}."
        )
    low = _check_real("rating_range[0]", rating_range[0])
    high = _check_real("rating_range[1]", rating_range[1])
    if low >= high:
        raise ValueError(f"rating_range must have low < high; got {rating_range!r}.")
    return low, high


def _covering_cells(n_users: int, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """Return max(n_users, n_items) distinct flat cells covering every user and item.

    Row k pairs the k-th user and the k-th item of two random permutations, wrapping
    around the shorter one; the longer side never repeats, so the pairs are distinct.
    """
    k = np.arange(max(n_users, n_items))
    users = rng.permutation(n_users)[k % n_users]
    items = rng.permutation(n_items)[k % n_items]
    return users.astype(np.int64) * n_items + items


def _distinct_cells(n_cells: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` distinct values of ``range(n_cells)``, uniformly drawn, sorted.

    Not Generator.choice(replace=False): above 2% density it allocates all
    ``n_cells`` indices (8 bytes per cell), and below it is slower than this. Nor
    np.unique, far slower than np.sort on tens of millions of int64 (benchmarks/
    README.md, "Figures behind code choices").
    """
    if n > n_cells // 2:
        # Dense: draw the cells left out instead, the sparse side.
        kept = np.ones(n_cells, dtype=bool)
        kept[_distinct_cells(n_cells, n_cells - n, rng)] = False
        return np.flatnonzero(kept)
    cells = np.empty(0, dtype=np.int64)
    while cells.size < n:
        # Enough i.i.d. draws to expect the missing distinct cells, plus a margin,
        # so one round nearly always suffices.
        free = n_cells - cells.size
        size = -n_cells * np.log1p(-(n - cells.size) / free)
        cells = np.sort(
            np.concatenate([cells, rng.integers(n_cells, size=int(size * 1.01) + 64)])
        )
        cells = cells[np.concatenate([[True], cells[1:] != cells[:-1]])]
    # The distinct values of i.i.d. draws are a uniform random set given their
    # number, and so is what remains after dropping a random subset.
    return np.delete(cells, rng.choice(cells.size, size=cells.size - n, replace=False))


def _sample_cells(
    n_users: int, n_items: int, n_ratings: int, rng: np.random.Generator
) -> np.ndarray:
    """Return n_ratings distinct flat cells ``user * n_items + item``, in random order.

    When n_ratings >= max(n_users, n_items) a random covering set is kept and the
    remaining cells are uniform among the others, so every id appears.
    """
    cells = _distinct_cells(n_users * n_items, n_ratings, rng)
    if n_ratings >= max(n_users, n_items):
        cover = np.sort(_covering_cells(n_users, n_items, rng))
        # Drop the drawn cells that are in the cover (binary search: np.isin is
        # slow at this size), then enough random others to make room for it.
        at = np.minimum(np.searchsorted(cells, cover), n_ratings - 1)
        cells = np.delete(cells, at[cells[at] == cover])
        surplus = cells.size + cover.size - n_ratings
        cells = np.delete(cells, rng.choice(cells.size, size=surplus, replace=False))
        cells = np.concatenate([cells, cover])
    rng.shuffle(cells)
    return cells


def _planted_ratings(
    users: np.ndarray, items: np.ndarray, truth: Bunch, rng: np.random.Generator
) -> np.ndarray:
    """Return the planted model's noisy ratings of the given (user, item) pairs."""
    y = rng.normal(truth.global_mean, truth.noise, size=users.size)
    # Block by block, so that temporaries are reused instead of each allocating
    # (and page-faulting) hundreds of megabytes for tens of millions of ratings.
    for start in range(0, y.size, _CHUNK):
        block = slice(start, start + _CHUNK)
        u, i = users[block], items[block]
        y[block] += truth.user_bias[u] + truth.item_bias[i]
        y[block] += np.einsum(
            "ij,ij->i",
            np.take(truth.user_factors, u, axis=0),
            np.take(truth.item_factors, i, axis=0),
        )
    return y


# The most memory the planted model (returned in ``truth``, indexed by id) may take.
_MAX_PLANTED_BYTES = 4 << 30


def make_ratings(
    n_users: int = 500,
    n_items: int = 300,
    n_ratings: int = 20_000,
    *,
    n_components: int = 5,
    noise: float = 0.5,
    global_mean: float = 3.5,
    bias_std: float = 0.5,
    factor_std: float = 0.5,
    rating_range: tuple[float, float] | None = None,
    as_frame: bool = False,
    random_state=None,
) -> tuple:
    """Generate ratings from a planted biased low-rank model.

    Each rating is

    .. math::

        y = \\mu + b_u + b_i + p_u^\\top q_i + \\varepsilon,
        \\qquad \\varepsilon \\sim N(0, \\text{noise}^2),

    with user and item biases :math:`b \\sim N(0, \\text{bias\\_std}^2)` and
    factors :math:`p_u, q_i \\sim N(0, \\text{factor\\_std}^2 I)` of length
    ``n_components``. The observed ``(user, item)`` pairs are distinct.

    Parameters
    ----------
    n_users : int, default=500
        Number of users; user ids are ``0 .. n_users - 1``.

    n_items : int, default=300
        Number of items; item ids are ``0 .. n_items - 1``.

    n_ratings : int, default=20_000
        Number of observed ratings, at most ``n_users * n_items``. When it is at
        least ``max(n_users, n_items)``, every user and every item is rated at
        least once: a random set of ``max(n_users, n_items)`` pairs covering all
        ids is drawn first and the other pairs are drawn uniformly without
        replacement from the remaining cells. Otherwise all pairs are uniform.

    n_components : int, default=5
        Rank of the planted interaction term. 0 gives a biases-only model.

    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to each rating.

    global_mean : float, default=3.5
        The global mean :math:`\\mu`.

    bias_std : float, default=0.5
        Standard deviation of the user and item biases.

    factor_std : float, default=0.5
        Standard deviation of each entry of the user and item factors.

    rating_range : tuple (low, high), default=None
        If given, the ratings are clipped to ``[low, high]``; the noise around
        the planted model is then no longer exactly Gaussian with std ``noise``.

    as_frame : bool, default=False
        If True, ``X`` is a DataFrame with columns ``user`` and ``item`` and ``y``
        a Series named ``rating``.

    random_state : int, RandomState instance or None, default=None
        Determines the random draws. Pass an int for reproducible output across
        multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_ratings, 2) of int64, or DataFrame
        The ``[user, item]`` id of each rating, in random order.

    y : ndarray of shape (n_ratings,) of float64, or Series
        The ratings.

    truth : :class:`~sklearn.utils.Bunch`
        The planted model: ``global_mean`` (float), ``user_bias`` of shape
        (n_users,), ``item_bias`` of shape (n_items,), ``user_factors`` of shape
        (n_users, n_components), ``item_factors`` of shape
        (n_items, n_components), and ``noise`` (float). Arrays are indexed by id.

    Examples
    --------
    >>> from sklearn_mf.datasets import make_ratings
    >>> X, y, truth = make_ratings(n_users=50, n_items=40, n_ratings=600,
    ...                            n_components=3, random_state=0)
    >>> X.shape, X.dtype, y.shape
    ((600, 2), dtype('int64'), (600,))
    >>> truth.user_factors.shape, truth.item_factors.shape
    ((50, 3), (40, 3))
    >>> len({(u, i) for u, i in X}) == 600
    True
    """
    n_users = _check_int("n_users", n_users, 1)
    n_items = _check_int("n_items", n_items, 1)
    n_ratings = _check_int("n_ratings", n_ratings, 1)
    if n_ratings > n_users * n_items:
        raise ValueError(
            f"n_ratings must be <= n_users * n_items = {n_users * n_items}; "
            f"got {n_ratings}."
        )
    n_components = _check_int("n_components", n_components, 0)
    planted_bytes = 8 * (n_users + n_items) * (n_components + 1)
    if planted_bytes > _MAX_PLANTED_BYTES:
        raise ValueError(
            f"The planted model of n_users={n_users} and n_items={n_items} (a bias "
            f"and n_components={n_components} factors per id, returned in truth) "
            f"would take {planted_bytes / 2**30:.1f} GiB, above the "
            f"{_MAX_PLANTED_BYTES / 2**30:.0f} GiB make_ratings allows; use fewer "
            "users or items."
        )
    rating_range = _check_rating_range(rating_range)
    if not isinstance(as_frame, bool | np.bool_):
        raise TypeError(f"as_frame must be a bool; got {type(as_frame).__name__}.")
    noise = _check_real("noise", noise, 0.0)
    global_mean = _check_real("global_mean", global_mean)
    bias_std = _check_real("bias_std", bias_std, 0.0)
    factor_std = _check_real("factor_std", factor_std, 0.0)
    random_state = check_random_state(random_state)
    # sklearn's RandomState seeds a Generator: its normal draws are faster, and its
    # choice(replace=False) draws a few indices out of millions without permuting
    # them all, as RandomState.choice does.
    rng = np.random.default_rng(random_state.randint(2**32, size=4, dtype=np.uint64))

    truth = Bunch(
        global_mean=global_mean,
        user_bias=rng.normal(0.0, bias_std, size=n_users),
        item_bias=rng.normal(0.0, bias_std, size=n_items),
        user_factors=rng.normal(0.0, factor_std, size=(n_users, n_components)),
        item_factors=rng.normal(0.0, factor_std, size=(n_items, n_components)),
        noise=noise,
    )
    cells = _sample_cells(n_users, n_items, n_ratings, rng)
    X = np.empty((n_ratings, 2), dtype=np.int64)
    np.divmod(cells, n_items, out=(X[:, 0], X[:, 1]))
    with np.errstate(over="ignore", invalid="ignore"):
        y = _planted_ratings(X[:, 0], X[:, 1], truth, rng)
    if not np.isfinite(y).all():
        raise ValueError(
            "The planted ratings overflow float64: lower global_mean, bias_std, "
            "factor_std or noise."
        )
    if rating_range is not None:
        np.clip(y, *rating_range, out=y)
    if as_frame:
        return (
            pd.DataFrame(X, columns=["user", "item"]),
            pd.Series(y, name="rating"),
            truth,
        )
    return X, y, truth
