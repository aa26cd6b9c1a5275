"""Seeds drawn from ``random_state``."""

import numpy as np
from sklearn.utils import check_random_state

# Exclusive upper bound of every seed drawn from a ``RandomState`` (its ``randint``
# takes int32 bounds on every platform).
SEED_MAX = np.iinfo(np.int32).max


def draw_seeds(random_state, n: int) -> list[int]:
    """``n`` seeds from ``random_state`` (an int, a RandomState or None)."""
    return [int(s) for s in check_random_state(random_state).randint(SEED_MAX, size=n)]
