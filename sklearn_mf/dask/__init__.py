"""Matrix factorization on a Dask cluster (the optional extra ``dask``).

``sklearn_mf`` does not import this package; importing it needs Dask and
``distributed`` (``pip install "sklearn-mf[dask]"``).
"""

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sklearn_mf.dask needs Dask with its DataFrame and distributed parts: "
        'pip install "sklearn-mf[dask]".'
    ) from error

from . import _sizes  # noqa: F401  (registers the sizes of its objects with Dask)
from ._estimator import DaskMatrixFactorization

__all__ = ["DaskMatrixFactorization"]
