"""Ranking metrics over held-out ratings, grouped by user."""

from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import pandas as pd

from .._ids import canonical_ids, encode_ids
from ..utils._sklearn import Interval, validate_params
from ..utils._validation import as_2d


def _as_id_column(users) -> np.ndarray:
    """``users`` as a 1D array that keeps each id's Python type.

    Array-likes (NumPy arrays, pandas Series) keep their dtype. Lists and other
    sequences become object arrays, so that an id ``1`` does not turn into the string
    ``"1"`` by NumPy's common-dtype conversion, and a sequence of tuple ids stays one
    id per row instead of growing a second dimension.
    """
    if hasattr(users, "__array__"):
        return np.asarray(users)
    values = np.asarray(users, dtype=object)
    if values.ndim > 1:
        rows = list(users)
        if all(_is_hashable(row) for row in rows):
            values = np.empty(len(rows), dtype=object)
            for i, row in enumerate(rows):
                values[i] = row
    return values


def _is_hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _as_scores(values) -> np.ndarray:
    """``y_true``/``y_score`` as an array; object arrays of numbers and missing
    values (``None``, ``pd.NA``) become float so that the latter read as NaN."""
    values = np.asarray(values)
    if values.dtype == object and all(
        (isinstance(v, Real) and not isinstance(v, (bool, np.bool_))) or pd.isna(v)
        for v in values.ravel()
    ):
        values = np.array(
            [np.nan if pd.isna(v) else float(v) for v in values.ravel()],
            dtype=np.float64,
        ).reshape(values.shape)
    return values


def _check_inputs(users, y_true, y_score, threshold) -> tuple[np.ndarray, ...]:
    """Validate the inputs; return the users' int32 codes and the float scores.

    Users go through the estimators' id layer: any hashable ids, ``1`` and ``1.0``
    one id, ``"1"`` and ``1`` two ids, mixed types grouped without comparing them.
    """
    users = _as_id_column(users)
    y_true = _as_scores(y_true)
    y_score = _as_scores(y_score)
    for name, values in (("users", users), ("y_true", y_true), ("y_score", y_score)):
        if values.ndim != 1:
            raise ValueError(
                f"{name} must be one-dimensional; got shape {values.shape}."
            )
    if not users.shape[0] == y_true.shape[0] == y_score.shape[0]:
        raise ValueError(
            "users, y_true and y_score must have the same length; got "
            f"{users.shape[0]}, {y_true.shape[0]} and {y_score.shape[0]}."
        )
    if users.shape[0] == 0:
        raise ValueError(
            "users, y_true and y_score are empty (0 ratings); a ranking metric needs "
            "at least one rating."
        )
    for name, values in (("y_true", y_true), ("y_score", y_score)):
        if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
            raise TypeError(f"{name} must be numeric; got dtype {values.dtype}.")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must be finite; it holds NaN, None or infinity.")
    missing = pd.isna(users)
    if missing.any():
        raise ValueError(
            "users must not hold missing values (NaN or None); found one at row "
            f"{int(np.flatnonzero(missing)[0])}."
        )
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite; got {threshold}.")
    try:
        _, codes = encode_ids(canonical_ids(users, "users"))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"users holds an invalid id: {exc}") from None
    return codes, y_true.astype(float), y_score.astype(float)


class _UserRankings:
    """Each user's held-out items ranked by score: per-position relevance and the
    users' group boundaries, over the users with at least one relevant item."""

    def __init__(self, users, y_true, y_score, threshold: float):
        codes, y_true, y_score = _check_inputs(users, y_true, y_score, threshold)
        # By user, then score from high to low; ties keep the input order (stable).
        order = np.lexsort((-y_score, codes))
        codes = codes[order]
        relevant = y_true[order] >= threshold
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        sizes = np.diff(np.r_[starts, codes.shape[0]])
        n_relevant = (
            np.add.reduceat(relevant.astype(np.int64), starts) if starts.size else sizes
        )
        # 0-based position of each rating within its user's ranking.
        self.position = np.arange(codes.shape[0]) - np.repeat(starts, sizes)
        self.relevant = relevant
        self.user = np.repeat(np.arange(starts.shape[0]), sizes)
        self.sizes = sizes
        self.n_relevant = n_relevant
        self.scored = n_relevant > 0

    def hits_at(self, k: int) -> np.ndarray:
        """Relevant items in each user's top ``k``."""
        top = self.relevant & (self.position < k)
        return np.bincount(self.user[top], minlength=self.sizes.shape[0])

    def mean(self, per_user: np.ndarray) -> float:
        if not self.scored.any():
            raise ValueError(
                "No user has a rating at or above threshold, so the metric is "
                "undefined; lower threshold or pass more ratings."
            )
        return float(per_user[self.scored].mean())


_PARAMETERS = {
    "users": ["array-like"],
    "y_true": ["array-like"],
    "y_score": ["array-like"],
    "k": [Interval(Integral, 1, None, closed="left")],
    "threshold": [Real],
}

_SHARED_DOC = """
    Parameters
    ----------
    users : array-like of shape (n_samples,)
        The user of each rating (any hashable ids, e.g. ``X[:, 0]``).

    y_true : array-like of shape (n_samples,)
        The true ratings; those at or above ``threshold`` are relevant.

    y_score : array-like of shape (n_samples,)
        The predicted ratings (or any score), which rank each user's items.

    k : int, default=10
        How many of each user's top-ranked items count.

    threshold : float, default=4.0
        The rating from which an item is relevant.

    Returns
    -------
    score : float
        The mean over the users with at least one relevant item (the others
        have nothing to find and are left out).
"""


@validate_params(_PARAMETERS, prefer_skip_nested_validation=True)
def precision_at_k(users, y_true, y_score, *, k=10, threshold=4.0) -> float:
    """Share of relevant items among each user's top-ranked items, averaged over users.

    Each user's rated items (the rows of that user) are ranked by ``y_score``, ties
    in input order; a user's precision is the number of relevant items among the
    top ``min(k, n_u)`` divided by ``min(k, n_u)``, where ``n_u`` is the user's
    number of rows, so that a user with fewer than ``k`` rows can still reach 1.
    {shared}
    Examples
    --------
    >>> from sklearn_mf.metrics import precision_at_k
    >>> users = [1, 1, 1, 2, 2]
    >>> y_true = [5, 2, 4, 1, 4]
    >>> y_score = [4.5, 4.0, 3.0, 3.5, 3.9]
    >>> precision_at_k(users, y_true, y_score, k=2)
    0.5
    """
    rankings = _UserRankings(users, y_true, y_score, threshold)
    return rankings.mean(rankings.hits_at(k) / np.minimum(k, rankings.sizes))


@validate_params(_PARAMETERS, prefer_skip_nested_validation=True)
def recall_at_k(users, y_true, y_score, *, k=10, threshold=4.0) -> float:
    """Share of each user's relevant items found in their top ``k``, averaged over users.

    Each user's rated items (the rows of that user) are ranked by ``y_score``, ties
    in input order; a user's recall is the number of relevant items in the top
    ``k`` divided by the user's number of relevant items.
    {shared}
    Examples
    --------
    >>> from sklearn_mf.metrics import recall_at_k
    >>> users = [1, 1, 1, 2, 2]
    >>> y_true = [5, 2, 4, 1, 4]
    >>> y_score = [4.5, 4.0, 3.0, 3.5, 3.9]
    >>> recall_at_k(users, y_true, y_score, k=2)
    0.75
    """
    rankings = _UserRankings(users, y_true, y_score, threshold)
    return rankings.mean(rankings.hits_at(k) / np.maximum(rankings.n_relevant, 1))


@validate_params(_PARAMETERS, prefer_skip_nested_validation=True)
def ndcg_at_k(users, y_true, y_score, *, k=10, threshold=4.0) -> float:
    """Normalised discounted cumulative gain of each user's top ``k``, averaged over
    users.

    Each user's rated items (the rows of that user) are ranked by ``y_score``, ties
    in input order. A relevant item at position ``i`` (from 1) gains
    ``1 / log2(i + 1)``; a user's DCG sums the gains of the top ``k`` and is divided
    by the best DCG possible, that of all the user's relevant items ranked first.
    {shared}
    Examples
    --------
    >>> from sklearn_mf.metrics import ndcg_at_k
    >>> users = [1, 1, 1, 2, 2]
    >>> y_true = [5, 2, 4, 1, 4]
    >>> y_score = [4.5, 4.0, 3.0, 3.5, 3.9]
    >>> round(ndcg_at_k(users, y_true, y_score, k=2), 4)
    0.8066
    """
    rankings = _UserRankings(users, y_true, y_score, threshold)
    n_users = rankings.sizes.shape[0]
    top = rankings.relevant & (rankings.position < k)
    gain = 1.0 / np.log2(rankings.position[top] + 2.0)
    dcg = np.bincount(rankings.user[top], weights=gain, minlength=n_users)
    # The ideal DCG of n relevant items within the top k: the discount's prefix sums,
    # only as long as the most relevant items of a user (k may be huge).
    depth = min(k, int(rankings.n_relevant.max()))
    discount_sums = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(depth) + 2.0))]
    ideal = discount_sums[np.minimum(rankings.n_relevant, k)]
    return rankings.mean(dcg / np.where(ideal > 0, ideal, 1.0))


for _metric in (precision_at_k, recall_at_k, ndcg_at_k):
    _metric.__doc__ = _metric.__doc__.replace("{shared}", _SHARED_DOC)


class RankingScorer:
    """A scorer for ``scoring=`` in ``GridSearchCV`` or ``cross_val_score``:
    ``scorer(estimator, X, y)`` ranks each user's rows of ``X`` by
    ``estimator.predict(X)`` and returns ``metric(X[:, 0], y, predictions)``.

    Build it with :func:`make_ranking_scorer`. Greater is better.
    """

    def __init__(self, metric: Callable, k: int, threshold: float):
        self.metric = metric
        self.k = k
        self.threshold = threshold

    def __call__(self, estimator, X, y) -> float:
        # As the estimators read X: a list of mixed rows keeps each id's type.
        X = as_2d(X)
        users = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else X[:, 0]
        return self.metric(
            users, y, estimator.predict(X), k=self.k, threshold=self.threshold
        )

    def __repr__(self) -> str:
        return (
            f"make_ranking_scorer({self.metric.__name__}, k={self.k}, "
            f"threshold={self.threshold})"
        )


@validate_params(
    {
        "metric": [callable],
        "k": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Real],
    },
    prefer_skip_nested_validation=True,
)
def make_ranking_scorer(metric, *, k=10, threshold=4.0) -> RankingScorer:
    """Make a scorer from :func:`precision_at_k`, :func:`recall_at_k` or
    :func:`ndcg_at_k` for ``scoring=`` in scikit-learn's model selection tools.

    Parameters
    ----------
    metric : callable
        A ranking metric with the signature of :func:`ndcg_at_k`.

    k : int, default=10
        Passed to ``metric``.

    threshold : float, default=4.0
        Passed to ``metric``.

    Returns
    -------
    scorer : RankingScorer
        Called as ``scorer(estimator, X, y)``: each user's rows of the held-out ``X``
        (users in column 0) are ranked by ``estimator.predict(X)``.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_mf import MatrixFactorization
    >>> from sklearn_mf.datasets import make_ratings
    >>> from sklearn_mf.metrics import make_ranking_scorer, ndcg_at_k
    >>> X, y, _ = make_ratings(n_users=100, n_items=50, n_ratings=3000, random_state=0)
    >>> scorer = make_ranking_scorer(ndcg_at_k, k=5, threshold=4.0)
    >>> scores = cross_val_score(
    ...     MatrixFactorization(n_components=4, random_state=0), X, y, scoring=scorer
    ... )
    >>> bool(0 < scores.min() <= scores.max() <= 1)
    True
    """
    return RankingScorer(metric, k, threshold)
