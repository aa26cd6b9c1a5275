"""Python drivers of the trainers: epochs, convergence, early stopping, randomness.

With the index builders (``_ids.py``, ``_ratings.py``) and ``_scoring.py``, the only
callers of the numba kernels.
"""

from .._kernels._types import Penalty, Side
from ._als import (
    ALSSolver,
    coefficients,
    gathers_in_float32,
    penalised_gram,
    solve_rows,
    solve_side,
)
from ._driver import TrainingResult, train
from ._model import (
    FactorModel,
    initial_model,
    row_norms,
    side_estimates,
    side_squared_error,
)
from ._options import Solver, SolverOptions, implicit_sides
from ._sgd import SGDSolver
from ._sgd_implicit import SGDImplicitSolver

SOLVERS = {"als": ALSSolver, "cg": ALSSolver, "sgd": SGDSolver}


def solver_class(name: str, implicit_sides: frozenset) -> type[Solver]:
    """The solver ``name`` for a model with the implicit terms ``implicit_sides``."""
    if name == "sgd" and implicit_sides:
        return SGDImplicitSolver
    return SOLVERS[name]


__all__ = [
    "SOLVERS",
    "FactorModel",
    "Penalty",
    "Side",
    "Solver",
    "SolverOptions",
    "TrainingResult",
    "implicit_sides",
    "coefficients",
    "gathers_in_float32",
    "penalised_gram",
    "initial_model",
    "row_norms",
    "side_estimates",
    "side_squared_error",
    "solve_rows",
    "solve_side",
    "solver_class",
    "train",
]
