"""The Gibbs sampler's kernels (``_kernels._gibbs``): the conditional draws of the
factors and of the implicit vectors."""

import numpy as np
import pytest

from sklearn_mf._kernels._gibbs import gibbs_half_step, gibbs_implicit
from sklearn_mf._kernels._types import Prior, Ratings, Side

N_DRAWS = 20_000


def _empirical(draws):
    return draws.mean(axis=0), np.cov(draws, rowvar=False)


# Rows with at least k + 1 ratings are drawn through their normal equations, rows
# with fewer through their ratings (dual_draw_row): both draw the same conditional.
@pytest.mark.parametrize("with_prior", [True, False])
@pytest.mark.parametrize("k, n_ratings", [(2, 7), (2, 2), (4, 3), (4, 1)])
def test_half_step_draws_follow_the_gaussian_conditional(k, n_ratings, with_prior):
    rng = np.random.RandomState(0)
    other_index = np.sort(rng.randint(0, 4, n_ratings)).astype(np.int32)
    target = rng.randn(n_ratings)
    weight = rng.uniform(0.5, 2.0, n_ratings)
    other_bias = rng.randn(4)
    other_vectors = rng.randn(4, k)
    tau, bias_precision, bias_mean = 2.0, 3.0, 0.2
    factor_precision, factor_mean = rng.uniform(1.0, 4.0, k), rng.randn(k)
    # With an implicit term each row's prior is centred on its own offset; without
    # one, the prior holds no rows.
    prior = rng.randn(1, k) if with_prior else np.zeros((0, k))
    offset = prior[0] if with_prior else np.zeros(k)
    # The conditional in closed form: precision tau G + D, mean from the normal
    # equations with the prior centred on factor_mean + prior.
    x = np.column_stack([np.ones(n_ratings), other_vectors[other_index]])
    precision = tau * (x.T * weight) @ x + np.diag(
        np.r_[bias_precision, factor_precision]
    )
    rhs = (
        tau * x.T @ (weight * (target - other_bias[other_index]))
        + np.r_[bias_precision * bias_mean, factor_precision * (factor_mean + offset)]
    )
    mean = np.linalg.solve(precision, rhs)

    draws = np.empty((N_DRAWS, k + 1))
    bias, vectors, deviation = np.empty(1), np.empty((1, k)), np.empty((1, k + 1))
    for n in range(N_DRAWS):
        gibbs_half_step(
            np.array([0, 1]),
            Ratings(np.array([0, n_ratings]), other_index, target, weight),
            Side(other_bias, other_vectors),
            tau,
            Prior(bias_mean, bias_precision),
            Prior(factor_mean, factor_precision),
            prior,
            np.array([12345], dtype=np.uint64),
            np.uint64(n),
            Side(bias, vectors),
            deviation,
        )
        draws[n] = np.r_[bias, vectors[0]]
        np.testing.assert_allclose(deviation[0], draws[n] - mean, atol=1e-10)
    draw_mean, draw_cov = _empirical(draws)
    covariance = np.linalg.inv(precision)
    scale = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(draw_mean, mean, atol=5 * scale.max() / np.sqrt(N_DRAWS))
    np.testing.assert_allclose(draw_cov, covariance, atol=0.05 * scale.max() ** 2)


def test_rows_without_weight_get_zeros():
    bias, vectors, deviation = np.ones(2), np.ones((2, 1)), np.ones((2, 2))
    gibbs_half_step(
        np.array([0, 2]),
        Ratings(
            np.array([0, 1, 2]),
            np.array([0, 0], dtype=np.int32),
            np.array([1.0, 2.0]),
            np.array([1.0, 0.0]),
        ),
        Side(np.zeros(1), np.ones((1, 1))),
        1.0,
        Prior(0.0, 1.0),
        Prior(np.zeros(1), np.ones(1)),
        np.zeros((0, 1)),
        np.array([1, 2], dtype=np.uint64),
        np.uint64(0),
        Side(bias, vectors),
        deviation,
    )
    assert bias[1] == 0 and (vectors[1] == 0).all() and (deviation[1] == 0).all()
    assert bias[0] != 0


def test_implicit_draws_follow_their_conditional_and_move_the_factors():
    # One item rated by users 0 (twice, adjacent as in the index) and 2.
    other_index = np.array([0, 0, 2], dtype=np.int32)
    weight = np.array([1.0, 0.5, 2.0])
    other_scale = np.array([0.5, 0.7, 0.25])
    precision, mean = np.array([2.0, 1.0]), np.array([0.1, -0.2])
    link_precision = np.array([3.0, 0.5])
    residual = np.array([[0.4, -0.1], [9.0, 9.0], [-0.3, 0.8]])
    start = np.array([[0.2, 0.3]])
    c = np.array([0.5 * 1.5, 0.0, 0.25 * 2.0])  # s_u times the summed weights
    total = precision + link_precision * (c**2).sum()
    expected_mean = (
        precision * mean
        + link_precision * (c[:, None] * (residual + c[:, None] * start)).sum(axis=0)
    ) / total

    draws = np.empty((N_DRAWS, 2))
    for n in range(N_DRAWS):
        implicit, moved = start.copy(), residual.copy()
        gibbs_implicit(
            Ratings(np.array([0, 3]), other_index, np.zeros(3), weight),
            other_scale,
            Prior(mean, precision),
            link_precision,
            np.array([7], dtype=np.uint64),
            np.uint64(n),
            moved,
            implicit,
        )
        draws[n] = implicit[0]
        # p_u = v_u - z_u with v_u fixed: the residual moves by -c_u times the change.
        np.testing.assert_allclose(
            moved, residual - c[:, None] * (implicit - start), atol=1e-12
        )
    draw_mean, draw_cov = _empirical(draws)
    np.testing.assert_allclose(draw_mean, expected_mean, atol=5 / np.sqrt(N_DRAWS))
    np.testing.assert_allclose(np.diag(draw_cov), 1 / total, rtol=0.05)
