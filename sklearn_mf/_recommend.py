"""Top-N recommendation and item similarity for the fitted factorization estimators."""

from collections.abc import Iterator
from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._ids import (
    as_objects,
    canonical_ids,
    encode_ids,
    lookup_codes,
    warn_if_mistyped,
)
from ._scoring import top_n
from ._state import FittedState
from .utils._threads import numba_threads
from .utils._validation import check_magnitude


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"n must be an int; got {type(n).__name__}.")
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    return int(n)


def _id_array(values, name: str) -> np.ndarray:
    if isinstance(values, (Iterator, dict, set, frozenset)):
        raise TypeError(
            f"{name} must be an array-like of ids (a list, an array, a Series); got "
            f"a {type(values).__name__}."
        )
    values = np.asarray(values, dtype=None if hasattr(values, "dtype") else object)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {values.shape}.")
    return canonical_ids(values, name)


def _ragged_take(indptr: np.ndarray, values: np.ndarray, rows: np.ndarray):
    """``(ptr, taken)``: the CSR slices ``values[indptr[r]:indptr[r + 1]]`` of ``rows``
    (-1 rows give empty slices), concatenated."""
    known = rows >= 0
    starts = np.where(known, indptr[np.maximum(rows, 0)], 0)
    lengths = np.where(known, indptr[np.maximum(rows, 0) + 1] - starts, 0)
    ptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    offsets = np.arange(ptr[-1]) - np.repeat(ptr[:-1], lengths)
    return ptr, values[np.repeat(starts, lengths) + offsets]


class RecommenderMixin:
    """``recommend`` and ``similar_items`` over an estimator's fitted state
    (``_state``), which holds the items each user rated in training."""

    def recommend(
        self,
        users,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        items=None,
        user_features=None,
        item_features=None,
    ):
        """Recommend the ``n`` items with the highest predicted rating to each user.

        Items are ranked by the model's output before clipping (clipped ratings
        tie at the top of the scale), with side features at their training mean,
        except, with ``feature_factors=True``, the user and item attributes:
        training ids keep theirs, and unknown ids described by ``user_features`` or
        ``item_features`` are scored through theirs (vectors and linear term), as
        ``predict`` would. Ties go to the item listed first. Otherwise an unknown
        user gets the most popular candidates (most training ratings, ties to the
        item listed first) with their fallback ratings ``global_mean_ + item_bias_``
        as scores, which then need not decrease; an unknown candidate item is scored
        by the user's bias alone, and counts as never rated.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            Raw user ids; repeats are allowed.

        n : int, default=10
            Number of items per user.

        exclude_seen : bool, default=True
            Whether to leave out the items each user rated in training.

        items : array-like of shape (n_candidates,), default=None
            Distinct raw item ids to choose from; ``None`` means every training item.

        user_features : array-like of shape (n_users, `n_features_in_` - 2), default=None
            Side features of each user, in the columns of ``X`` from 2 on; only the
            user attribute columns (``feature_sides_ == "user"``) of unknown users are
            read. Needs ``feature_factors=True``.

        item_features : array-like of shape (n_candidates, `n_features_in_` - 2), \
                default=None
            Side features of each item in ``items``, likewise for unknown items.

        Returns
        -------
        item_ids : ndarray of shape (n_users, n)
            Raw item ids, best first.

        scores : ndarray of shape (n_users, n)
            Their predicted ratings (unclipped).

        Examples
        --------
        >>> from sklearn_mf import MatrixFactorization
        >>> from sklearn_mf.datasets import make_ratings
        >>> X, y, _ = make_ratings(n_users=50, n_items=30, n_ratings=600, random_state=0)
        >>> model = MatrixFactorization(n_components=3, random_state=0).fit(X, y)
        >>> item_ids, scores = model.recommend([0, 1], n=3)
        >>> item_ids.shape, scores.shape
        ((2, 3), (2, 3))
        >>> bool((scores[:, :-1] >= scores[:, 1:]).all())
        True
        """
        check_is_fitted(self)
        state = self._state  # read once: a concurrent partial_fit swaps it whole
        n = _check_n(n)
        if not isinstance(exclude_seen, (bool, np.bool_)):
            raise TypeError(
                f"exclude_seen must be a bool; got {type(exclude_seen).__name__}."
            )
        user_ids = _id_array(users, "users")
        all_items = state.items.ids
        if items is None:
            candidate_ids = all_items
            candidate_codes = np.arange(len(all_items), dtype=np.int32)
        else:
            candidate_ids = _id_array(items, "items")
            if len(encode_ids(candidate_ids)[0]) != len(candidate_ids):
                raise ValueError("items must not repeat an id.")
            candidate_codes = lookup_codes(all_items, candidate_ids)
            if item_features is None:  # described items are expected to be new
                warn_if_mistyped(all_items, candidate_ids, candidate_codes, "item", 2)
        user_codes = lookup_codes(state.users.ids, user_ids)
        if user_features is None:  # described users are expected to be new
            warn_if_mistyped(state.users.ids, user_ids, user_codes, "user", 2)
        known_items = candidate_codes >= 0
        row_vectors, row_bias = self._side_scores(
            state, "user", user_codes, user_features
        )
        row_bias += state.global_mean
        col_vectors, col_bias = self._side_scores(
            state, "item", candidate_codes, item_features
        )
        column_of = np.full(len(all_items), -1, dtype=np.int64)
        column_of[candidate_codes[known_items]] = np.flatnonzero(known_items)
        history = state.history
        if exclude_seen:
            excluded_ptr, seen = _ragged_take(history.indptr, history.items, user_codes)
            excluded = column_of[seen]
        else:
            excluded_ptr = np.zeros(len(user_ids) + 1, dtype=np.int64)
            excluded = np.empty(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(user_ids)), np.diff(excluded_ptr))
        # A user may have rated an item more than once: count distinct items.
        pairs = np.unique(
            owner[excluded >= 0] * len(candidate_ids) + excluded[excluded >= 0]
        )
        left = len(candidate_ids) - np.bincount(
            pairs // max(len(candidate_ids), 1), minlength=len(user_ids)
        )
        if len(user_ids) and left.min() < n:
            short = int(np.argmin(left))
            user = as_objects(user_ids[short : short + 1])[0]
            if exclude_seen:
                raise ValueError(
                    f"n={n} is more than the {left[short]} candidate items left for "
                    f"user {user!r} after excluding the items it rated; "
                    "lower n, pass more items or set exclude_seen=False."
                )
            raise ValueError(
                f"n={n} is more than the {len(candidate_ids)} candidate items; lower "
                "n or pass more items."
            )
        with numba_threads(getattr(self, "n_jobs", None)):
            index, scores = top_n(
                row_vectors, row_bias, col_vectors, col_bias, excluded_ptr, excluded, n
            )
        # Users the model knows nothing about get the most popular candidates: their
        # fallback ratings (mu + b_i) would put items with one or two high ratings on
        # top, as the item biases of rarely rated items are the least certain.
        described = user_features is not None and state.attribute_columns("user").size
        anonymous = (user_codes < 0) & (not described)
        if anonymous.any():
            popularity = np.bincount(history.items, minlength=len(all_items))
            candidate_popularity = np.where(
                known_items, popularity[np.maximum(candidate_codes, 0)], 0
            )
            most_popular = np.argsort(-candidate_popularity, kind="stable")[:n]
            index[anonymous] = most_popular
            scores[anonymous] = state.global_mean + col_bias[most_popular]
        return candidate_ids[index], scores

    def _side_scores(
        self, state: FittedState, side: str, codes: np.ndarray, features
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors and biases of one side's ids for ranking: the fitted ones for
        known ids (plus the linear term of their attributes), zero or described by
        the attributes in ``features`` for unknown ones."""
        known = codes >= 0
        fitted = state.side(side)
        out_vectors = np.where(known[:, None], fitted.vectors[codes], 0.0)
        out_bias = np.where(known, fitted.bias[codes], 0.0)
        factors = state.feature_factors
        if features is not None:
            name = f"{side}_features"
            if factors is None:
                raise ValueError(
                    f"{name} describes unknown ids through their attribute factors, "
                    "which only a model fitted with feature_factors=True has."
                )
            try:
                features = check_array(
                    features, dtype=np.float64, ensure_min_samples=0, input_name=name
                )
            except (TypeError, ValueError) as error:
                raise type(error)(f"{name}: {error}") from None
            check_magnitude(features, name)
            expected = (codes.shape[0], self.n_features_in_ - 2)
            if features.shape != expected:
                raise ValueError(
                    f"{name} must have shape {expected} (one row per id, the feature "
                    f"columns of X); got {features.shape}."
                )
        if factors is None:
            return out_vectors, out_bias
        out_bias[known] += fitted.attribute_bias[codes[known]]
        if features is not None:
            out_vectors[~known], out_bias[~known] = state.attribute_part(
                side, features[~known] - state.feature_mean
            )
        return out_vectors, out_bias

    def similar_items(self, items, n: int = 10):
        """The ``n`` items whose vectors are closest in cosine similarity to each item.

        Items are compared by the vectors that make their predictions (with the
        implicit-feedback sums, if any); an item with a zero vector is similar to
        none (similarity 0). Ties go to the lower item id.

        Parameters
        ----------
        items : array-like of shape (n_queries,)
            Raw ids of training items.

        n : int, default=10
            Number of similar items per query, the item itself excluded.

        Returns
        -------
        item_ids : ndarray of shape (n_queries, n)
            Raw item ids, most similar first.

        similarities : ndarray of shape (n_queries, n)
            Their cosine similarities.

        Examples
        --------
        >>> from sklearn_mf import MatrixFactorization
        >>> from sklearn_mf.datasets import make_ratings
        >>> X, y, _ = make_ratings(n_users=50, n_items=30, n_ratings=600, random_state=0)
        >>> model = MatrixFactorization(n_components=3, random_state=0).fit(X, y)
        >>> item_ids, similarities = model.similar_items([5], n=4)
        >>> item_ids.shape, bool(abs(similarities).max() <= 1 + 1e-12)
        ((1, 4), True)
        """
        check_is_fitted(self)
        state = self._state
        n = _check_n(n)
        item_ids = _id_array(items, "items")
        all_items = state.items.ids
        codes = lookup_codes(all_items, item_ids)
        if (codes < 0).any():
            unknown = item_ids[codes < 0][:5].tolist()
            raise ValueError(
                f"similar_items needs training items; unknown ids: {unknown}."
            )
        if n > len(all_items) - 1:
            raise ValueError(
                f"n={n} is more than the {len(all_items) - 1} other training items."
            )
        vectors = state.items.vectors
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
        with numba_threads(getattr(self, "n_jobs", None)):
            index, similarities = top_n(
                unit[codes],
                np.zeros(len(codes)),
                unit,
                np.zeros(len(all_items)),
                np.arange(len(codes) + 1, dtype=np.int64),
                codes.astype(np.int64),
                n,
            )
        return all_items[index], similarities
