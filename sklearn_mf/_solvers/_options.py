"""What a solver is given, and what it must provide to the epoch loop."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .._attributes import SideAttributes
from .._ratings import RatingData
from ._model import FactorModel

SIDES = frozenset({"user", "item"})


def implicit_sides(option: bool | str) -> frozenset:
    """The sides (``"user"``, ``"item"``) whose vectors get an implicit term, for
    the estimators' parameter ``implicit_feedback`` (False, True, "users", "items"
    or "both")."""
    if not isinstance(option, str):  # True means Koren's SVD++: the users' term
        option = "users" if option else None
    if option == "both":
        return SIDES
    return frozenset({option[:-1]}) if option else frozenset()


@dataclass(frozen=True)
class SolverOptions:
    """The settings of one fit, in the standardised units the solvers work in.

    ``implicit_sides`` holds ``"user"`` and/or ``"item"``: the sides whose vectors get
    an implicit-feedback sum. ``attributes`` are the user and item attribute columns
    with ``feature_factors`` (None without). ``cg_steps`` is None for exact row solves.
    ``learning_rate`` and ``order_seed`` (the seed of the visiting order) are read by
    the SGD solvers only (which need a ``learning_rate``), ``cg_steps`` by the
    alternating ones.
    """

    alpha: float
    alpha_bias: float
    fit_bias: bool
    implicit_sides: frozenset = frozenset()
    alpha_implicit: float = 0.0
    attributes: tuple[SideAttributes, SideAttributes] | None = None
    cg_steps: int | None = None
    learning_rate: float | None = None
    order_seed: int = 0

    def __post_init__(self):
        if not self.implicit_sides <= SIDES:
            raise ValueError(
                f"implicit_sides must be a subset of {sorted(SIDES)}, got "
                f"{sorted(self.implicit_sides)}."
            )


class Solver(Protocol):
    """A point-estimate solver: built from ``(data, options)``, it updates a
    :class:`FactorModel` (in ``dtype``) one epoch at a time."""

    dtype: type

    def __init__(self, data: RatingData, options: SolverOptions): ...

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` in place; return the objective it reaches."""

    def full_vectors(self, model: FactorModel) -> tuple[np.ndarray, np.ndarray]:
        """The user and item vectors whose dot products make the predictions."""
