"""Matrix factorization for rating data as a native scikit-learn estimator."""

from ._bayesian import BayesianMatrixFactorization
from ._mf import MatrixFactorization

__version__ = "0.1.0.dev0"

__all__ = ["BayesianMatrixFactorization", "MatrixFactorization", "__version__"]
