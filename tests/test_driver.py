"""The epoch loop: stopping rules, best-model keeping, divergence."""

import numpy as np
import pytest

from sklearn_mf._solvers import FactorModel, train


class _CountingSolver:
    """Each epoch adds 1 to the first user bias, so the model records its epoch."""

    def epoch(self, model):
        model.user_bias[0] += 1.0
        return 1.0


def _model():
    return FactorModel(
        np.zeros(2), np.zeros(1), np.zeros((2, 1)), np.zeros((1, 1)), np.zeros(0)
    )


def _train(scores, **kwargs):
    sequence = iter(scores)
    options = dict(max_iter=len(scores), tol=0.0, n_iter_no_change=2)
    options.update(kwargs)
    return train(
        _CountingSolver(),
        _model(),
        validation_score=lambda _: next(sequence),
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
            return float("inf")

    with pytest.raises(ValueError, match="diverged at epoch 1"):
        train(
            Exploding(),
            _model(),
            max_iter=3,
            tol=None,
            n_iter_no_change=1,
            validation_score=None,
            verbose=0,
            solver_name="stub",
        )
