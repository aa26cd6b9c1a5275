"""Recommender-aware splitters for scikit-learn's model selection tools."""

from ._split import PerUserHoldout, PerUserKFold, TemporalSplit

__all__ = ["PerUserHoldout", "PerUserKFold", "TemporalSplit"]
