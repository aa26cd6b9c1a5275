"""``alpha="auto"``: the factor penalty chosen on a held-out slice of the ratings.

The best penalty differs between data sets (how many ratings each row has, how much
of the signal is low-rank), and too little of it loses to the bias-only model. The
search walks a geometric ladder of penalties from ``START``, each fit starting from
its neighbour's solution: upwards while the held-out error stays within one standard
error of the best one so far, then, unless a larger penalty won, downwards while it
falls. It returns the largest penalty within one standard error of the best (the
"one-standard-error rule" of cross-validated penalties): a smaller one must be better
by more than the held-out slice's noise. A penalty high enough to shrink every vector
to zero is the bias-only model, so that is what the search ends with when the
factors do not help measurably.

The standard error is that of the paired difference of the two penalties' squared
errors over the held-out ratings: their errors are strongly correlated, so it tells
small real differences from noise far better than the errors' own spread would.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

# The penalty tried first, for standardised ratings: the middle of the best values
# found on the data sets of benchmarks/zoo.py.
START = 0.08
# Ratio between neighbouring penalties of the ladder, and the most steps taken in one
# direction (START * STEP ** 6 shrinks every vector to zero on those data sets).
STEP = 1.4
MAX_STEPS = 6
# The relative tolerance of the search's fits: they only have to rank the penalties,
# and the fit of all the ratings, which starts from the chosen one, converges fully.
SEARCH_TOL = 1e-2


def rung(step: int) -> float:
    """The ladder's penalty ``step`` steps above ``START``, to three digits."""
    return float(f"{START * STEP**step:.3g}")


def _close(errors: np.ndarray, best_errors: np.ndarray) -> bool:
    """Whether ``errors`` exceed ``best_errors`` on average by at most one standard
    error of their paired difference."""
    difference = errors - best_errors
    return difference.mean() <= difference.std() / np.sqrt(difference.shape[0])


def search_alpha(
    score: Callable[[float, Any], tuple[np.ndarray, Any]],
) -> tuple[float, dict[float, float], Any]:
    """Return the chosen penalty, the mean held-out error of every penalty tried and
    the model fitted with the chosen one.

    ``score(alpha, start)`` fits the model with penalty ``alpha`` from ``start``
    (None for a fresh initialisation, else a neighbour's fitted model, which it
    must not modify) and returns ``(errors, fitted model)``, ``errors`` holding the
    (weighted) squared error of each held-out rating.
    """
    errors: dict[float, np.ndarray] = {}
    # Only the models that may still be chosen are kept: they can be large.
    models: dict[float, Any] = {}

    def best() -> float:
        return min(errors, key=lambda alpha: errors[alpha].mean())

    def fit(alpha: float, start) -> Any:
        errors[alpha], model = score(alpha, start)
        models[alpha] = model
        leader = best()
        for other in list(models):
            if other != leader and not _close(errors[other], errors[leader]):
                del models[other]
        return model

    first_model = fit(START, None)
    for direction in (1, -1):
        model, previous = first_model, START
        for step in range(direction, direction * (MAX_STEPS + 1), direction):
            alpha = rung(step)
            model = fit(alpha, model)
            if direction > 0 and not _close(errors[alpha], errors[best()]):
                break
            if direction < 0 and errors[alpha].mean() >= errors[previous].mean():
                break
            previous = alpha
        if best() > START:
            break  # a larger penalty won: the errors below START only rise
    chosen = max(alpha for alpha in models if _close(errors[alpha], errors[best()]))
    return (
        chosen,
        {alpha: float(e.mean()) for alpha, e in errors.items()},
        models[chosen],
    )
