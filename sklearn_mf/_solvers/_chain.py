"""A Gibbs chain run by the epoch loop: one sweep per epoch, the retained sweeps
summarised as they come."""

import numpy as np

from ._driver import train
from ._gibbs import GibbsSampler, Sample
from ._model import FactorModel
from ._summary import Posterior, PosteriorSummary


class _Chain:
    """The driver's trainer: each epoch draws every parameter once and returns the
    noise precision (of the standardised ratings); sweeps after ``burn_in`` go into
    ``summary``."""

    def __init__(
        self,
        sampler: GibbsSampler,
        summary: PosteriorSummary,
        burn_in: int,
        rng: np.random.Generator,
    ):
        self.sampler = sampler
        self.summary = summary
        self.burn_in = burn_in
        self.rng = rng
        self.n_sweeps = 0

    def epoch(self, sample: Sample) -> float:
        self.sampler.sweep(sample, self.rng)
        if self.n_sweeps >= self.burn_in:
            self.summary.add(sample)
        self.n_sweeps += 1
        return sample.noise_precision


def _noise_report(precision: float) -> str:
    with np.errstate(divide="ignore"):
        return f"noise std {1 / np.sqrt(precision):.5g}"


def sample_posterior(
    sampler: GibbsSampler,
    summary: PosteriorSummary,
    model: FactorModel,
    *,
    n_iter: int,
    burn_in: int,
    chain_seed: int,
    rating_scale: float,
    verbose: int,
) -> tuple[Posterior, np.ndarray]:
    """Run ``n_iter`` sweeps of ``sampler`` from ``model``; return the posterior of
    the sweeps after ``burn_in`` in rating units (``rating_scale`` times the
    standardised ones) and the noise precision drawn in each sweep."""
    chain = _Chain(sampler, summary, burn_in, np.random.default_rng(chain_seed))
    result = train(
        chain,
        sampler.start(model),
        max_iter=n_iter,
        tol=None,
        n_iter_no_change=1,
        validation_score=None,
        verbose=verbose,
        solver_name="gibbs",
        # The sampler fits standardised ratings: the trace is in rating units (for
        # ratings of a tiny spread, a precision beyond float64, inf, is no divergence).
        loss_unit=1.0 / rating_scale / rating_scale,
        label="Sweep",
        report=_noise_report,
        remedy="Check the ratings, weights and features for extreme values.",
    )
    return summary.posterior().rescaled(rating_scale), np.array(result.loss_curve)
