"""Python drivers of the trainers: epochs, convergence, early stopping, randomness.

The only callers of the numba kernels besides the index builders and ``_scoring``.
"""

from ._als import ALSSolver, solve_rows
from ._driver import TrainingResult, train
from ._model import FactorModel, initial_model
from ._options import Solver, SolverOptions
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
    "initial_model",
    "solve_rows",
    "solver_class",
    "train",
]
