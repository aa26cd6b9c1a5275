"""The epoch loop: stopping rules, best-model keeping, divergence."""

import numpy as np
import pytest

from sklearn_mf._ratings import RatingData
from sklearn_mf._solvers import FactorModel, train


class _CountingSolver:
    """Each epoch adds 1 to the first user bias, so the model records its epoch."""

    def epoch(self, model):
        model.user_bias[0] += 1.0


def _setup():
    data = RatingData.build(
        np.array([0, 1], dtype=np.int32),
        np.array([0, 0], dtype=np.int32),
        np.array([1.0, -1.0]),
        np.ones(2),
        np.zeros((2, 0)),
        2,
        1,
        1,
        1,
    )
    model = FactorModel(
        np.zeros(2), np.zeros(1), np.zeros((2, 1)), np.zeros((1, 1)), np.zeros(0)
    )
    return data, model


def _train(scores, **kwargs):
    data, model = _setup()
    sequence = iter(scores)
    options = dict(
        alpha=0.1, alpha_bias=0.1, max_iter=len(scores), tol=0.0, n_iter_no_change=2
    )
    options.update(kwargs)
    return train(
        _CountingSolver(),
        model,
        data,
        validation_rmse=lambda _: next(sequence),
        verbose=0,
        solver_name="stub",
        **options,
    )


def test_early_stopping_returns_the_best_epoch():
    result = _train([3.0, 2.0, 1.0, 1.5, 2.5, 0.5])
    assert result.converged and result.n_iter == 5
    assert result.model.user_bias[0] == 3.0  # the model as it was after epoch 3
    assert result.validation_scores == [3.0, 2.0, 1.0, 1.5, 2.5]


def test_tol_none_runs_every_epoch():
    result = _train([3.0, 2.0, 2.5, 2.6, 2.7], tol=None)
    assert not result.converged and result.n_iter == 5
    assert result.model.user_bias[0] == 2.0


def test_relative_tol_counts_small_improvements_as_none():
    result = _train([1.0, 0.9995, 0.9990, 0.5], tol=1e-3)
    assert result.converged and result.n_iter == 3


def test_non_finite_loss_raises():
    class Exploding:
        def epoch(self, model):
            model.user_factors[:] = np.inf

    data, model = _setup()
    with pytest.raises(ValueError, match="diverged at epoch 1"):
        train(
            Exploding(),
            model,
            data,
            alpha=0.1,
            alpha_bias=0.1,
            max_iter=3,
            tol=None,
            n_iter_no_change=1,
            validation_rmse=None,
            verbose=0,
            solver_name="stub",
        )
