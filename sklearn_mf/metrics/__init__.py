"""Ranking metrics for held-out ratings, and scorers for scikit-learn's model selection."""

from ._ranking import (
    RankingScorer,
    make_ranking_scorer,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = [
    "RankingScorer",
    "make_ranking_scorer",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]
