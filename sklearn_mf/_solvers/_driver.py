"""The epoch loop of every trainer (MF solvers and Gibbs sweeps): stopping rules,
divergence, callbacks, verbose output."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._model import FactorModel


@dataclass
class TrainingResult:
    """The trained model (the best one seen, with a validation score), the number
    of epochs run, the loss after each, the validation scores (None without), and
    whether the stopping rule fired."""

    model: Any
    n_iter: int
    loss_curve: list[float]
    validation_scores: list[float] | None
    converged: bool


class _NoImprovement:
    """Counts consecutive epochs whose score did not beat the best by ``tol`` (relative)."""

    def __init__(self, tol: float | None, patience: int):
        self.tol = 0.0 if tol is None else tol
        self.patience = patience
        self.best = float("inf")
        self.count = 0

    def update(self, score: float) -> bool:
        """Record ``score`` (lower is better); return True when it is a new best."""
        improved = self.best == float("inf") or score < self.best - self.tol * abs(
            self.best
        )
        self.count = 0 if improved else self.count + 1
        is_best = score < self.best
        self.best = min(self.best, score)
        return is_best

    @property
    def exhausted(self) -> bool:
        return self.count >= self.patience


class Trainer(Protocol):
    """What the epoch loop drives: an MF solver, or a chain of Gibbs sweeps."""

    def epoch(self, model) -> float:
        """Run one epoch (or sweep) on ``model`` in place; return the value that the
        loss curve records and the stopping rule monitors."""


def _loss_report(loss: float) -> str:
    return f"loss {loss:.6f}"


def train(
    trainer: Trainer,
    model,
    *,
    max_iter: int,
    tol: float | None,
    n_iter_no_change: int,
    validation_score: Callable[[FactorModel], float] | None,
    verbose: int,
    solver_name: str,
    loss_unit: float = 1.0,
    label: str = "Epoch",
    report: Callable[[float], str] = _loss_report,
    remedy: str = "Raise alpha.",
) -> TrainingResult:
    """Run ``trainer.epoch`` until the stopping rule fires or ``max_iter`` epochs pass.

    Each epoch returns its training loss, which goes into the loss curve times
    ``loss_unit`` (the squared rating scale, for a solver fitting standardised
    ratings). ``verbose`` prints one line per epoch: ``label``, its number,
    ``report(loss)``, the validation RMSE if any, and the seconds it took.

    Without a validation score, training stops once the training loss has failed to
    improve by ``tol`` (relative) for ``n_iter_no_change`` epochs; with one (a
    callback scoring the model after each epoch), the same rule applies to the
    validation RMSE and the best model seen is returned. ``tol=None`` disables
    stopping. A non-finite loss or model raises ``ValueError``, which ends with
    ``remedy`` (what the user can change), instead of leaving NaN parameters behind.
    """
    loss_curve: list[float] = []
    scores: list[float] | None = [] if validation_score is not None else None
    monitor = _NoImprovement(tol, n_iter_no_change)
    best = model
    for epoch in range(1, max_iter + 1):
        start = time.perf_counter()
        loss = trainer.epoch(model)
        if not model.is_finite() or loss != loss or loss == float("inf"):
            raise ValueError(
                f"solver={solver_name!r} diverged at {label.lower()} {epoch}: "
                f"{report(loss)}, or the model became non-finite. {remedy}"
            )
        loss *= loss_unit
        loss_curve.append(loss)
        message = f"{label} {epoch}: {report(loss)}"
        if scores is not None:
            score = validation_score(model)
            scores.append(score)
            message += f", validation RMSE {score:.5f}"
            if monitor.update(score):
                best = model.copy()
        else:
            monitor.update(loss)
        if verbose:
            print(f"{message}, {time.perf_counter() - start:.2f} s")
        if tol is not None and monitor.exhausted:
            return TrainingResult(
                best if scores is not None else model, epoch, loss_curve, scores, True
            )
    return TrainingResult(
        best if scores is not None else model, max_iter, loss_curve, scores, False
    )
