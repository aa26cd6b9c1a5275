"""Python drivers of the solvers: epochs, convergence, early stopping, randomness."""

from ._als import ALSSolver
from ._driver import TrainingResult, train
from ._model import FactorModel
from ._sgd import SGDSolver

SOLVERS = {"als": ALSSolver, "cg": ALSSolver, "sgd": SGDSolver}

__all__ = ["SOLVERS", "FactorModel", "TrainingResult", "train"]
