"""The penalty search of alpha="auto", on held-out errors made up for the purpose."""

import numpy as np
import pytest

from sklearn_mf import MatrixFactorization
from sklearn_mf._alpha_search import MAX_STEPS, START, rung, search_alpha
from sklearn_mf.datasets import make_ratings

N_HELD_OUT = 2_000


def _search(mean_error, noise=0.0):
    """Search errors whose mean is ``mean_error(alpha)``, plus noise shared by every
    penalty (as the held-out ratings' own noise is) and ``noise`` of its own."""
    rng = np.random.RandomState(0)
    shared = rng.chisquare(1, N_HELD_OUT)
    starts = []

    def score(alpha, start):
        starts.append((alpha, start))
        own = noise * np.random.RandomState(int(alpha * 1e4)).randn(N_HELD_OUT)
        return shared + mean_error(alpha) + own, f"model {alpha}"

    return (*search_alpha(score), starts)


def test_a_clear_minimum_below_the_start_is_found_and_chosen():
    target = rung(-2)
    alpha, means, model, starts = _search(lambda a: np.log(a / target) ** 2)
    assert alpha == target and model == f"model {target}"
    # Up one step (worse), then down until the errors rise again.
    assert list(means) == [START, rung(1), rung(-1), rung(-2), rung(-3)]
    # Each fit starts from its neighbour's, the first afresh.
    assert starts[0] == (START, None)
    assert starts[1] == (rung(1), f"model {START}")
    assert starts[2] == (rung(-1), f"model {START}")
    assert starts[3] == (rung(-2), f"model {rung(-1)}")


def test_a_minimum_above_the_start_stops_the_search_there():
    target = rung(2)
    alpha, means, _, _ = _search(lambda a: np.log(a / target) ** 2)
    assert alpha == target
    assert list(means) == [START, rung(1), rung(2), rung(3)]


def test_no_difference_climbs_to_the_largest_penalty():
    # Factors that do not help: every penalty predicts the held-out ratings alike.
    alpha, means, _, _ = _search(lambda a: 0.0)
    assert alpha == rung(MAX_STEPS)
    assert max(means) == rung(MAX_STEPS)


@pytest.mark.parametrize("gain, chosen", [(1e-4, START), (0.05, rung(-1))])
def test_a_smaller_penalty_must_win_by_more_than_the_noise(gain, chosen):
    def mean_error(alpha):
        return {rung(-1): -gain}.get(alpha, 0.1 if alpha < rung(-1) else 0.0) + (
            0.2 if alpha > START else 0.0
        )

    alpha, _, _, _ = _search(mean_error, noise=0.3)
    assert alpha == chosen


def test_held_out_split_keeps_unit_weights_a_view_and_fits_alike():
    from sklearn_mf._held_out import split_held_out
    from sklearn_mf._ratings import is_unit_weights, unit_weights
    from sklearn_mf.utils._validation import RatingInput

    n = 200
    rng = np.random.RandomState(0)
    ratings = RatingInput(
        rng.randint(0, 20, n).astype(np.int32),
        rng.randint(0, 15, n).astype(np.int32),
        np.zeros((n, 0)),
    )
    split = split_held_out(ratings, rng.randn(n), unit_weights(n), 0.1, seed=0)
    _, _, train_weight, (_, _, val_weight) = split
    # A view of ones, as the whole fit has: one compiled kernel for both fits.
    assert is_unit_weights(train_weight) and is_unit_weights(val_weight)
    assert train_weight.shape == (180,) and val_weight.shape == (20,)


def test_auto_alpha_gives_the_same_model_for_no_weights_and_ones():
    X, y, _ = make_ratings(n_users=40, n_items=30, n_ratings=600, random_state=1)
    plain = MatrixFactorization(random_state=0).fit(X, y)
    ones = MatrixFactorization(random_state=0).fit(X, y, sample_weight=np.ones(600))
    assert plain.alpha_ == ones.alpha_
    np.testing.assert_allclose(plain.predict(X), ones.predict(X), rtol=1e-12)
