"""Rating data sets: MovieLens loaders and a synthetic low-rank generator."""

from ._movielens import fetch_movielens
from ._synthetic import make_ratings

__all__ = ["fetch_movielens", "make_ratings"]
