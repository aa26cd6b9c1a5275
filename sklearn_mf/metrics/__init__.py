"""Ranking metrics for held-out ratings, and scorers for scikit-learn's model selection."""

from ._catalogue import (
    CatalogueScorer,
    catalogue_metrics,
    make_catalogue_scorer,
    precision_recall_at_cutoffs,
)
from ._ranking import (
    RankingScorer,
    make_ranking_scorer,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = [
    "CatalogueScorer",
    "RankingScorer",
    "catalogue_metrics",
    "make_catalogue_scorer",
    "precision_recall_at_cutoffs",
    "make_ranking_scorer",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]
