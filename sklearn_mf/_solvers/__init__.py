"""Python drivers of the trainers: epochs, convergence, early stopping, randomness.

With the index builders (``_ids.py``, ``_ratings.py``) and ``_scoring.py``, the only
callers of the numba kernels.
"""

from ._als import ALSSolver, solve_rows
from ._driver import TrainingResult, train
from ._model import FactorModel, initial_model
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
    "Solver",
    "SolverOptions",
    "TrainingResult",
    "implicit_sides",
    "initial_model",
    "solve_rows",
    "solver_class",
    "train",
]
