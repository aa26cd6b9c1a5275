"""The fitted state: one immutable object per fitted model.

A trainer (``fit``) or ``partial_fit`` builds a new :class:`FittedState` and the
estimator installs it in one assignment, so that a concurrent ``predict`` reads the old
model or the new one, never a mix, and a call that raises leaves the previous one.
The estimators' public fitted attributes are read-only views of it (see
:class:`FittedAttribute`): every array is held once.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RatingHistory:
    """Each user's training ratings, grouped by user code (CSR).

    ``items[indptr[u]:indptr[u + 1]]`` are the item codes user ``u`` rated, which
    ``recommend(exclude_seen=True)`` leaves out. ``target`` (in rating units, net of
    the global mean and the linear feature term) and ``weight`` (relative weights,
    None when all are one) are what ``partial_fit`` re-solves a row against; None for
    a model that cannot fold in ratings.
    """

    indptr: np.ndarray
    items: np.ndarray
    target: np.ndarray | None = None
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class SideState:
    """One side's (users' or items') fitted arrays, one row per known id.

    ``vectors`` are what predictions multiply: the ``factors`` themselves (the same
    array) unless implicit sums or attribute vectors are added to them. ``implicit``
    holds this side's implicit vectors (summed into the other side's vectors), None
    without that term; ``attribute_bias`` what the linear term makes of each id's
    attributes (for ``recommend``), None without ``feature_factors``.
    """

    ids: np.ndarray
    bias: np.ndarray
    factors: np.ndarray
    vectors: np.ndarray
    implicit: np.ndarray | None = None
    attribute_bias: np.ndarray | None = None


@dataclass(frozen=True)
class FittedState:
    """Everything a fitted factorization model predicts, recommends and folds in
    from, in rating units.

    ``coef`` and ``feature_factors`` are in the units of the input feature columns,
    applied to features centred by ``feature_mean``. ``feature_sides`` says which side
    each feature column describes (``"user"``, ``"item"`` or ``"rating"``), None
    without ``feature_factors``. ``folded_items`` marks the items that ``fit`` did not
    see (added by ``partial_fit``). The remaining fields are the training
    diagnostics of the estimators' fitted attributes; an estimator's own ones are set,
    the others None.
    """

    users: SideState
    items: SideState
    global_mean: float
    rating_scale: float
    rating_range: tuple[float, float]
    coef: np.ndarray
    feature_mean: np.ndarray
    history: RatingHistory
    n_iter: int
    weight_scale: float = 1.0
    feature_sides: np.ndarray | None = None
    feature_factors: np.ndarray | None = None
    folded_items: np.ndarray | None = None
    loss_curve: list | None = None
    validation_scores: list | None = None
    alpha: float | None = None
    alpha_scores: dict | None = None
    posterior: object = field(default=None, repr=False)
    noise_precision_trace: np.ndarray | None = None

    def side(self, name: str) -> SideState:
        """The side ``"user"`` or ``"item"``."""
        return self.users if name == "user" else self.items

    def attribute_columns(self, name: str) -> np.ndarray:
        """The feature columns that describe the side ``name`` (none without
        ``feature_factors``)."""
        if self.feature_sides is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.feature_sides == name)

    def attribute_part(
        self, name: str, centred: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors, linear)``: what the attributes of side ``name`` in the centred
        feature rows ``centred`` add to that side's vectors and to the linear term."""
        columns = self.attribute_columns(name)
        values = centred[:, columns]
        return values @ self.feature_factors[columns], values @ self.coef[columns]


class FittedAttribute:
    """A public fitted attribute that reads a field of the estimator's fitted state.

    Read-only: the state is replaced as a whole by ``fit`` and ``partial_fit``. Before
    the first fit it raises ``AttributeError``, so ``hasattr`` says whether the
    estimator is fitted.
    """

    def __init__(self, read):
        self.read = read

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        state = estimator.__dict__.get("_state")
        if state is None:
            raise AttributeError(
                f"{type(estimator).__name__!r} object has no attribute {self.name!r} "
                "(it is set by fit)"
            )
        return self.read(state)

    def __set__(self, estimator, value) -> None:
        raise AttributeError(
            f"{self.name} is a read-only view of the fitted model; fit or partial_fit "
            "replace it."
        )
