"""What prediction needs from the retained samples, accumulated as they come."""

from dataclasses import dataclass

import numpy as np

from ._gibbs import NormalPrior, Sample
from ._sketch import ProductSketch


def _prior_second_moment(prior: NormalPrior) -> np.ndarray:
    # E[x^2] of a fresh member of the group, drawn from the prior.
    return np.square(prior.mean) + 1.0 / prior.precision


class RunningMoments:
    """Running sums of a group's values and of their spreads, one row per member plus
    a last row for an unknown member, whose value is the fallback (zero) and whose
    spread is a draw from the group's prior."""

    def __init__(self, n_rows: int, *shape: int):
        self.total = np.zeros((n_rows + 1, *shape))
        self.spread = np.zeros((n_rows + 1, *shape))

    def add(self, values: np.ndarray, spread: np.ndarray, prior: NormalPrior) -> None:
        """Add the sample's ``values`` and their squared ``spread``."""
        self.total[:-1] += values
        self.spread[:-1] += np.square(spread)
        self.spread[-1] += _prior_second_moment(prior).reshape(self.spread.shape[1:])


@dataclass
class PosteriorSide:
    """Posterior means and variances of one side's biases and full vectors, with a
    last row for unknown ids (the fallback mean, zero, and the prior's second moment).

    The biases' variances are their variances across the samples. The vectors'
    variances are the means of their conditional variances given the other side
    (the Rao-Blackwellised part of the variance): across samples, the vectors also
    rotate together in ways that leave their products unchanged, which would
    inflate the variances of the products computed from them.
    """

    bias: np.ndarray
    bias_variance: np.ndarray
    vectors: np.ndarray
    vector_variance: np.ndarray

    def rescaled(self, scale: float) -> "PosteriorSide":
        """The side for ratings multiplied by ``scale`` (see ``Posterior.rescaled``)."""
        return PosteriorSide(
            self.bias * scale,
            self.bias_variance * scale**2,
            self.vectors * np.sqrt(scale),
            self.vector_variance * scale,
        )


@dataclass
class Posterior:
    """The summary of a chain: everything prediction and its uncertainty need."""

    users: PosteriorSide
    items: PosteriorSide
    user_interaction: np.ndarray
    item_interaction: np.ndarray
    coef: np.ndarray
    noise_variance: float

    def rescaled(self, scale: float) -> "Posterior":
        """The posterior of the ratings multiplied by ``scale``: biases and
        coefficients times ``scale``, vectors times its square root (their products
        times ``scale``), variances accordingly."""
        root = np.sqrt(scale)
        return Posterior(
            self.users.rescaled(scale),
            self.items.rescaled(scale),
            self.user_interaction * root,
            self.item_interaction * root,
            self.coef * scale,
            self.noise_variance * scale**2,
        )


class PosteriorSummary:
    """Accumulates the retained samples: per-row moments, the mean noise variance and
    a :class:`ProductSketch` of the mean interactions ``v_u . w_i``."""

    def __init__(
        self,
        user_seeds: np.ndarray,
        item_seeds: np.ndarray,
        n_components: int,
        n_features: int,
        sketch_rank: int,
        seed: int,
    ):
        n_users, n_items, k = user_seeds.shape[0], item_seeds.shape[0], n_components
        self.user_bias = RunningMoments(n_users)
        self.item_bias = RunningMoments(n_items)
        self.user_vectors = RunningMoments(n_users, k)
        self.item_vectors = RunningMoments(n_items, k)
        self.coef = np.zeros(n_features)
        self.noise_variance = 0.0
        self.sketch = ProductSketch(user_seeds, item_seeds, sketch_rank, seed)
        self.count = 0

    def add(self, sample: Sample) -> None:
        model = sample.model
        # Rao-Blackwellised: the averages take each row's conditional mean (the draw
        # less its deviation) rather than the draw, which removes the draws' own
        # noise from them. The interactions pair each side's conditional means with
        # the other side's vectors they were conditioned on, half and half.
        user_mean = sample.user_vectors - sample.user_deviation[:, 1:]
        item_mean = sample.item_vectors - sample.item_deviation[:, 1:]
        self.user_bias.add(
            model.user_bias - sample.user_deviation[:, 0],
            model.user_bias,
            sample.user_bias_prior,
        )
        self.item_bias.add(
            model.item_bias - sample.item_deviation[:, 0],
            model.item_bias,
            sample.item_bias_prior,
        )
        self.user_vectors.add(
            user_mean, sample.user_deviation[:, 1:], sample.user_prior
        )
        self.item_vectors.add(
            item_mean, sample.item_deviation[:, 1:], sample.item_prior
        )
        self.coef += model.coef
        self.noise_variance += 1.0 / sample.noise_precision
        self.sketch.add(0.5 * user_mean, sample.conditioning_items)
        self.sketch.add(0.5 * sample.user_vectors, item_mean)
        self.count += 1

    def posterior(self) -> Posterior:
        n = self.count
        sides = []
        for bias, vectors in (
            (self.user_bias, self.user_vectors),
            (self.item_bias, self.item_vectors),
        ):
            bias_mean = bias.total / n
            sides.append(
                PosteriorSide(
                    bias_mean,
                    np.maximum(bias.spread / n - np.square(bias_mean), 0.0),
                    vectors.total / n,
                    vectors.spread / n,
                )
            )
        user_interaction, item_interaction = self.sketch.factors(1.0 / n)
        return Posterior(
            *sides,
            user_interaction,
            item_interaction,
            self.coef / n,
            self.noise_variance / n,
        )
