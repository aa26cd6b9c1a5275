"""``alpha="auto"``: the factor penalty chosen on a held-out slice of the ratings.

The best penalty differs between data sets (how many ratings each row has, how much
of the signal is low-rank), and too little of it loses to the bias-only model. The
search walks a geometric ladder of penalties from ``START``: up while the held-out
RMSE improves, else down while it improves, each fit starting from its neighbour's
solution. The held-out RMSE is close to unimodal in the penalty, so a few fits find
its minimum; a penalty high enough to shrink every vector to zero is the bias-only
model, so the top of the ladder is that floor.
"""

from collections.abc import Callable
from typing import Any

# The penalty tried first, for standardised ratings: the middle of the best values
# found on the data sets of benchmarks/zoo.py.
START = 0.08
# Ratio between neighbouring penalties of the ladder, and the most steps taken in one
# direction (START * STEP ** 6 shrinks every vector to zero on those data sets).
STEP = 1.4
MAX_STEPS = 6


def rung(step: int) -> float:
    """The ladder's penalty ``step`` steps above ``START``, to three digits."""
    return float(f"{START * STEP**step:.3g}")


def search_alpha(
    score: Callable[[float, Any], tuple[float, Any]],
) -> tuple[float, dict[float, float]]:
    """Return the penalty with the lowest held-out score and every score measured.

    ``score(alpha, start)`` fits the model with penalty ``alpha`` from ``start``
    (None for a fresh initialisation, else a neighbour's fitted model, which it
    must not modify) and returns ``(held-out RMSE, fitted model)``.
    """
    scores: dict[float, float] = {}
    first_score, first_model = score(START, None)
    scores[START] = first_score
    for direction in (1, -1):
        best_score, model = first_score, first_model
        for step in range(direction, direction * (MAX_STEPS + 1), direction):
            alpha = rung(step)
            scores[alpha], model = score(alpha, model)
            if scores[alpha] >= best_score:
                break
            best_score = scores[alpha]
        if best_score < first_score:
            break  # it improved upwards, so the scores below START only rise
    return min(scores, key=scores.get), scores
