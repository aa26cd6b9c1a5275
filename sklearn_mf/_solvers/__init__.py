"""Python drivers of the solvers: epochs, convergence, early stopping, randomness."""

from ._als import ALSSolver
from ._driver import TrainingResult, train
from ._model import FactorModel
from ._sgd import SGDSolver
from ._sgd_implicit import SGDImplicitSolver

SOLVERS = {"als": ALSSolver, "cg": ALSSolver, "sgd": SGDSolver}


def solver_class(name: str, implicit_sides: frozenset) -> type:
    """The solver ``name`` for a model with the implicit terms ``implicit_sides``."""
    if name == "sgd" and implicit_sides:
        return SGDImplicitSolver
    return SOLVERS[name]


__all__ = ["SOLVERS", "FactorModel", "TrainingResult", "solver_class", "train"]
