"""The fitted state: one immutable object per fitted model.

A trainer (``fit``) or ``partial_fit`` builds a new :class:`FittedState` and the
estimator installs it in one assignment, so that a concurrent ``predict`` reads the old
model or the new one, never a mix, and a call that raises leaves the previous one.
The state holds the input metadata (``n_features_in_``, ``feature_names_in_``) too, so
that nothing of a fit is set on the estimator before that assignment. Its arrays are
read-only (:func:`freeze`) and held once; the estimators' public fitted attributes are
views of them (see :class:`FittedAttribute`).
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

SIDES = ("user", "item")


@dataclass(frozen=True)
class RatingHistory:
    """Each user's training ratings, grouped by user code (CSR).

    ``items[indptr[u]:indptr[u + 1]]`` are the item codes user ``u`` rated, which
    ``recommend(exclude_seen=True)`` leaves out. ``target`` (in rating units, net of
    the global mean and the linear feature term) and ``weight`` (relative weights,
    None when all are one) are what ``partial_fit`` re-solves a row against; the
    Bayesian estimator, which has no ``partial_fit``, keeps no target.
    """

    indptr: np.ndarray
    items: np.ndarray
    target: np.ndarray | None = None
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class SideState:
    """One side's (users' or items') fitted arrays, one row per known id.

    ``full_vectors`` are the factors plus what is summed into them (implicit sums,
    attribute vectors), None when nothing is: :attr:`vectors`, what predictions
    multiply, are then the ``factors`` themselves, held once. ``implicit`` holds this
    side's implicit vectors (summed into the other side's vectors), None without that
    term; ``attribute_bias`` what the linear term makes of each id's attributes (for
    ``recommend``), None without ``feature_factors``.
    """

    ids: np.ndarray
    bias: np.ndarray
    factors: np.ndarray
    full_vectors: np.ndarray | None = None
    implicit: np.ndarray | None = None
    attribute_bias: np.ndarray | None = None

    @property
    def vectors(self) -> np.ndarray:
        """The vectors whose dot products make the predictions."""
        return self.factors if self.full_vectors is None else self.full_vectors


@dataclass(frozen=True)
class FittedState:
    """Everything a fitted factorization model predicts, recommends and folds in
    from, in rating units.

    ``coef`` and ``feature_factors`` are in the units of the input feature columns,
    applied to features centred by ``feature_mean``. ``feature_sides`` says which side
    each feature column describes (``"user"``, ``"item"`` or ``"rating"``), None
    without ``feature_factors``. ``folded_items`` marks the items that ``fit`` did not
    see (added by ``partial_fit``). ``n_iter`` to ``noise_precision_trace`` are the
    training diagnostics of the estimators' fitted attributes (an estimator's own ones
    are set, the others None); ``n_features_in`` and ``feature_names_in`` describe the
    ``X`` of ``fit``, set by the estimator when it installs the state.
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
    n_features_in: int = 0
    feature_names_in: np.ndarray | None = None

    def side(self, name: str) -> SideState:
        """The side ``"user"`` or ``"item"``."""
        if name not in SIDES:
            raise ValueError(f"A side is 'user' or 'item', got {name!r}.")
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


def freeze(value):
    """``value`` with every array in it (in dataclasses, tuples, lists and dicts,
    recursively) made read-only, in place; returns ``value``."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            freeze(getattr(value, item.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            freeze(item)
    elif isinstance(value, dict):
        for item in value.values():
            freeze(item)
    return value


class FittedAttribute:
    """A public fitted attribute that reads a field of the estimator's fitted state.

    Read-only: the state is replaced as a whole by ``fit`` and ``partial_fit``, and
    its arrays cannot be written. Before the first fit, or when ``read`` gives None
    and ``optional`` is set, it raises ``AttributeError``, so that ``hasattr`` says
    whether the estimator is fitted (or, for ``feature_names_in_``, whether ``X`` had
    string column names).
    """

    def __init__(self, read, *, optional: bool = False):
        self.read = read
        self.optional = optional

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        state = estimator.__dict__.get("_state")
        value = None if state is None else self.read(state)
        if state is None or (value is None and self.optional):
            raise AttributeError(
                f"{type(estimator).__name__!r} object has no attribute {self.name!r}"
                + (" (it is set by fit)" if state is None else "")
            )
        return value

    def __set__(self, estimator, value) -> None:
        raise AttributeError(
            f"{self.name} is a read-only view of the fitted model; fit or partial_fit "
            "replace it."
        )
