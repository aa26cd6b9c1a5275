"""Full-catalogue top-N evaluation: rank every item a test user has not rated in
training, and score the top ``k`` against the user's test items.

This is how implicit, Turi and Spark evaluate recommenders, and what a deployed
system does: the candidates are the whole catalogue, not the few items the user
happens to have rated in the test rows (which :func:`~sklearn_mf.metrics.ndcg_at_k`
and friends rank).
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd

from .._ids import canonical_ids, encode_ids, lookup_codes
from ..utils._sklearn import Interval, validate_params
from ..utils._validation import as_2d

METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def _test_relevance(X, y, threshold):
    """``(users, relevant)``: the distinct test users with a relevant test item, and
    for each the set of those items (rating >= threshold, or every test item)."""
    X = as_2d(X)
    ids = X.iloc[:, :2].to_numpy() if isinstance(X, pd.DataFrame) else X[:, :2]
    users = canonical_ids(ids[:, 0], "user")
    items = canonical_ids(ids[:, 1], "item")
    if users.shape[0] == 0:
        raise ValueError("X has no test rows to evaluate.")
    keep = np.ones(users.shape[0], dtype=bool)
    if threshold is not None:
        if y is None:
            raise ValueError("A rating threshold needs the test ratings y.")
        keep = np.asarray(y, dtype=np.float64) >= threshold
    distinct, codes = encode_ids(users[keep])
    relevant = [set() for _ in range(distinct.shape[0])]
    for code, item in zip(codes, items[keep], strict=True):
        relevant[code].add(item)
    return distinct, relevant


def _hits(top: np.ndarray, relevant: list[set]) -> np.ndarray:
    """Whether each recommended item (rows: users, columns: ranks) is relevant."""
    return np.array(
        [
            [item in wanted for item in row]
            for row, wanted in zip(top, relevant, strict=True)
        ],
        dtype=bool,
    ).reshape(top.shape)


def _per_user(
    hits: np.ndarray, n_relevant: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    ranks = np.arange(1, k + 1)
    found = hits[:, :k]
    n_found = found.sum(axis=1)
    discounts = 1.0 / np.log2(ranks + 1.0)
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    precision_at_rank = np.cumsum(found, axis=1) / ranks
    first = np.where(found.any(axis=1), found.argmax(axis=1) + 1, np.inf)
    return {
        "precision": n_found / k,
        "recall": n_found / n_relevant,
        "ndcg": (found * discounts).sum(axis=1) / ideal,
        "map": (precision_at_rank * found).sum(axis=1) / np.minimum(n_relevant, k),
        "mrr": 1.0 / first,
        "hit_rate": (n_found > 0).astype(float),
    }


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like"],
        "y": ["array-like", None],
        "k": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Real, None],
    },
    prefer_skip_nested_validation=True,
)
def catalogue_metrics(estimator, X, y=None, *, k=10, threshold=None) -> dict:
    """Rank the whole catalogue for each test user and score the top ``k``.

    For each user of the test rows ``X`` with at least one relevant test item (a
    rating of at least ``threshold``, or any test item without one), the fitted
    ``estimator`` recommends the ``k`` best items among all its training items that
    the user did not rate in training (``recommend(..., exclude_seen=True)``); the
    user's relevant test items are the hits. Each metric is averaged over those users.

    Parameters
    ----------
    estimator : fitted MatrixFactorization or BayesianMatrixFactorization
        The model, fitted on the training rows of the split; or any recommender
        with ``items_`` and a ``recommend(users, n)`` that returns ``(item_ids,
        scores)`` of each user's best ``n`` items it did not rate in training (a
        popularity baseline, say).

    X : array-like or DataFrame of shape (n_test, n_columns)
        The test rows: user id, item id, (features, ignored here).

    y : array-like of shape (n_test,), default=None
        The test ratings; needed with ``threshold``.

    k : int, default=10
        The length of each user's list. Users with fewer unseen items than ``k``
        (rare: nearly the whole catalogue rated) make every list that short.

    threshold : float or None, default=None
        The least rating of a relevant test item; None makes every test item
        relevant.

    Returns
    -------
    metrics : dict
        ``precision``, ``recall``, ``ndcg`` (binary gains), ``map`` (average
        precision at ``k`` over ``min(n_relevant, k)``), ``mrr`` (reciprocal rank of
        the first hit, 0 without one), ``hit_rate`` (share of users with a hit), each
        averaged over the users; ``coverage`` (share of the training items that are
        in some user's list); ``n_users`` (users evaluated) and ``k``.

    Examples
    --------
    >>> from sklearn_mf import MatrixFactorization
    >>> from sklearn_mf.datasets import make_ratings
    >>> from sklearn_mf.metrics import catalogue_metrics
    >>> from sklearn_mf.model_selection import PerUserHoldout
    >>> X, y, _ = make_ratings(n_users=50, n_items=40, n_ratings=800, random_state=0)
    >>> train, test = next(PerUserHoldout(test_size=3, random_state=0).split(X))
    >>> model = MatrixFactorization(n_components=3, random_state=0).fit(X[train], y[train])
    >>> scores = catalogue_metrics(model, X[test], y[test], k=5)
    >>> sorted(scores)
    ['coverage', 'hit_rate', 'k', 'map', 'mrr', 'n_users', 'ndcg', 'precision', 'recall']
    """
    top, hits, n_relevant = _ranking(estimator, X, y, k, threshold)
    k = top.shape[1]
    per_user = _per_user(hits, n_relevant, k)
    result = {name: float(values.mean()) for name, values in per_user.items()}
    listed = encode_ids(canonical_ids(top.ravel(), "item"))[0]
    result["coverage"] = len(listed) / len(estimator.items_)
    result["n_users"] = int(top.shape[0])
    result["k"] = int(k)
    return result


def _ranking(estimator, X, y, depth: int, threshold):
    """``(top, hits, n_relevant)`` of the test users with a relevant item: their
    lists of ``depth`` items (fewer if some user has fewer unseen items), which of
    them are relevant, and how many relevant items each user has."""
    users, relevant = _test_relevance(X, y, threshold)
    if users.shape[0] == 0:
        raise ValueError(
            "No test user has a relevant item: lower the threshold or pass more rows."
        )
    depth = min(depth, len(estimator.items_) - _most_seen(estimator, users))
    if depth < 1:
        raise ValueError("A test user has rated every item in training.")
    top, _ = estimator.recommend(users, n=depth)
    n_relevant = np.array([len(items) for items in relevant])
    return top, _hits(top, relevant), n_relevant


def _most_seen(estimator, users: np.ndarray) -> int:
    """The most distinct training items any of ``users`` rated (0 for a recommender
    that is not one of this library's estimators)."""
    state = getattr(estimator, "_state", None)
    if state is None:
        return 0
    codes = lookup_codes(state.users.ids, users)
    history = state.history
    most = 0
    for code in codes[codes >= 0]:
        rated = history.items[history.indptr[code] : history.indptr[code + 1]]
        most = max(most, np.unique(rated).shape[0])
    return most


class CatalogueScorer:
    """A scorer for ``scoring=`` in ``GridSearchCV`` or ``cross_val_score``:
    ``scorer(estimator, X, y)`` is one metric of :func:`catalogue_metrics`.

    Build it with :func:`make_catalogue_scorer`. Greater is better.
    """

    def __init__(self, metric: str, k: int, threshold: float | None):
        self.metric = metric
        self.k = k
        self.threshold = threshold

    def __call__(self, estimator, X, y=None) -> float:
        scores = catalogue_metrics(estimator, X, y, k=self.k, threshold=self.threshold)
        return scores[self.metric]

    def __repr__(self) -> str:
        return (
            f"make_catalogue_scorer({self.metric!r}, k={self.k}, "
            f"threshold={self.threshold})"
        )


@validate_params(
    {
        "metric": [str],
        "k": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Real, None],
    },
    prefer_skip_nested_validation=True,
)
def make_catalogue_scorer(metric="ndcg", *, k=10, threshold=None) -> CatalogueScorer:
    """Make a full-catalogue scorer for scikit-learn's model selection tools.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage"}, \
            default="ndcg"
        The metric of :func:`catalogue_metrics` the scorer returns.

    k : int, default=10
        The length of each user's list.

    threshold : float or None, default=None
        The least rating of a relevant test item; None makes every test item
        relevant.

    Returns
    -------
    scorer : CatalogueScorer
        Use with ``cv=`` splitters that keep test users in training, such as
        :class:`~sklearn_mf.model_selection.PerUserHoldout`.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_mf import MatrixFactorization
    >>> from sklearn_mf.datasets import make_ratings
    >>> from sklearn_mf.metrics import make_catalogue_scorer
    >>> from sklearn_mf.model_selection import PerUserHoldout
    >>> X, y, _ = make_ratings(n_users=50, n_items=40, n_ratings=800, random_state=0)
    >>> scores = cross_val_score(
    ...     MatrixFactorization(n_components=3, random_state=0), X, y,
    ...     cv=PerUserHoldout(test_size=3, n_splits=2, random_state=0),
    ...     scoring=make_catalogue_scorer("map", k=5))
    >>> scores.shape
    (2,)
    """
    if metric not in (*METRICS, "coverage"):
        raise ValueError(
            f"metric must be one of {sorted((*METRICS, 'coverage'))}; got {metric!r}."
        )
    return CatalogueScorer(metric, k, threshold)


def precision_recall_at_cutoffs(
    estimator, X, y=None, *, cutoffs=(1, 2, 5, 10, 20, 50, 100), threshold=None
) -> dict:
    """Full-catalogue precision and recall, averaged over the test users, at each
    cutoff: one ranking of length ``max(cutoffs)`` per user, read at every cutoff
    (a precision-recall curve of the top-N lists). Arguments as in
    :func:`catalogue_metrics`.

    Returns
    -------
    curve : dict
        ``cutoffs``, ``precision`` and ``recall`` (arrays, one entry per cutoff).
    """
    cutoffs = np.asarray(sorted(set(cutoffs)), dtype=int)
    if cutoffs.size == 0 or cutoffs[0] < 1:
        raise ValueError(f"cutoffs must be positive ints; got {cutoffs.tolist()}.")
    top, hits, n_relevant = _ranking(estimator, X, y, int(cutoffs[-1]), threshold)
    cutoffs = cutoffs[cutoffs <= top.shape[1]]
    found = np.cumsum(hits, axis=1)[:, cutoffs - 1]
    return {
        "cutoffs": cutoffs,
        "precision": (found / cutoffs).mean(axis=0),
        "recall": (found / n_relevant[:, None]).mean(axis=0),
    }
