"""Gibbs sampling of the factorization model with hyper-priors (BPMF / libFM MCMC).

The model is the one ``MatrixFactorization`` fits, read as a likelihood: each rating is
``r = mu + b_u + b_i + v_u.w_i + x c + noise`` with noise precision ``tau w`` for
sample weight ``w``. Every group of parameters (user biases, item biases, the user
factors ``p``, the item factors ``q``, each side's implicit vectors, the feature
coefficients) has a normal prior with its own mean and precision per factor, and
those have a Normal-Gamma hyper-prior (libFM's MCMC); ``tau`` has a Gamma prior.

With implicit feedback the sampler works on the full vectors ``v_u = p_u + z_u``
instead of ``p_u``: the rows' conditionals then stay the ALS ridge problems (with the
prior centred on ``mu_p + z_u``), and given ``v`` the implicit vectors only meet the
data through ``p_u = v_u - z_u``, whose prior links them (see
:func:`~sklearn_mf._kernels._gibbs.gibbs_implicit`). The change of variables has a unit
Jacobian, so this samples the same posterior.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .._kernels._gibbs import gibbs_half_step, gibbs_implicit
from .._kernels._predict import row_squared_errors
from .._kernels._types import Prior, Side
from .._ratings import RatingData, SideIndex
from ._implicit import ImplicitTerm
from ._model import FactorModel

# The sweep's seeds, one per kind of draw, come from the chain's Generator as 63-bit
# integers (the per-fit seeds drawn from random_state are int32: utils/_random.py).
_SWEEP_SEED_MAX = np.iinfo(np.int64).max


@dataclass
class NormalPrior:
    """Mean and precision of a group of parameters, one per factor (or one)."""

    mean: np.ndarray
    precision: np.ndarray


def sample_normal_prior(
    rows: np.ndarray, shape: float, rate: float, rng: np.random.Generator
) -> NormalPrior:
    """Draw a group's prior from its Normal-Gamma posterior given the group's rows.

    ``rows`` has one row per member and one column per factor. The hyper-prior is
    ``precision ~ Gamma(shape, rate)``, ``mean | precision ~ N(0, 1 / precision)``,
    independently per column; the joint draw is exact (precision from its marginal,
    then the mean).
    """
    n = rows.shape[0]
    average = rows.mean(axis=0) if n else np.zeros(rows.shape[1])
    scatter = np.square(rows - average).sum(axis=0)
    posterior_rate = rate + 0.5 * scatter + 0.5 * n * np.square(average) / (n + 1.0)
    precision = rng.gamma(shape + 0.5 * n, 1.0 / posterior_rate)
    mean = n * average / (n + 1.0) + rng.standard_normal(rows.shape[1]) / np.sqrt(
        (n + 1.0) * precision
    )
    return NormalPrior(mean, precision)


@dataclass
class Sample:
    """The state of the chain: the model (factors ``p``, ``q`` without the implicit
    sums), the full vectors the ratings see, the deviations of each row's last
    ``(bias, vector)`` draw from its conditional mean, the item vectors that the
    users' last draw was conditioned on, the noise precision and the priors of the
    biases and factors drawn in the last sweep (None before the first)."""

    model: FactorModel
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    user_deviation: np.ndarray
    item_deviation: np.ndarray
    conditioning_items: np.ndarray
    noise_precision: float = 1.0
    user_bias_prior: NormalPrior | None = None
    item_bias_prior: NormalPrior | None = None
    user_prior: NormalPrior | None = None
    item_prior: NormalPrior | None = None

    def is_finite(self) -> bool:
        return (
            self.model.is_finite()
            and np.isfinite(self.user_vectors).all()
            and np.isfinite(self.item_vectors).all()
        )


class GibbsSampler:
    """One :meth:`sweep` draws every parameter once from its conditional."""

    def __init__(
        self,
        data: RatingData,
        *,
        implicit_sides: frozenset,
        shape: float,
        rate: float,
        user_seeds: np.ndarray,
        item_seeds: np.ndarray,
    ):
        self.data = data
        self.shape = shape
        self.rate = rate
        self.user_seeds = user_seeds
        self.item_seeds = item_seeds
        self.user_term = (
            ImplicitTerm(data, "user") if "user" in implicit_sides else None
        )
        self.item_term = (
            ImplicitTerm(data, "item") if "item" in implicit_sides else None
        )
        self.degrees_of_freedom = 0.0
        self.users_with_weight = data.user_weight > 0
        self.items_with_weight = data.item_weight > 0
        features = data.features
        self._feature_gram = features.T @ (features * data.weight[:, None])

    @staticmethod
    def _full(factors: np.ndarray, term: ImplicitTerm | None, implicit: np.ndarray):
        if term is None:
            return factors, np.zeros((0, factors.shape[1]))
        sums = term.sums(implicit)
        return factors + sums, sums

    @staticmethod
    def _implicit_sums(vectors: np.ndarray, factors: np.ndarray) -> np.ndarray:
        # The chain keeps full vectors = factors + implicit sums at all times (the
        # implicit draws move the factors, not the full vectors), so the sums are
        # their difference: no pass over the ratings. Without the term, no rows.
        if vectors is factors:
            return np.zeros((0, factors.shape[1]))
        return vectors - factors

    def start(self, model: FactorModel) -> Sample:
        """The chain's first state, from initial parameters."""
        users, _ = self._full(model.user_factors, self.user_term, model.item_implicit)
        items, _ = self._full(model.item_factors, self.item_term, model.user_implicit)
        k = model.user_factors.shape[1]
        # The noise precision and the priors are drawn first thing in every sweep.
        return Sample(
            model,
            users,
            items,
            np.zeros((users.shape[0], k + 1)),
            np.zeros((items.shape[0], k + 1)),
            items.copy(),
        )

    def _squared_error(self, sample: Sample) -> float:
        data, side = self.data, self.data.by_user
        per_user = np.empty(data.n_users)
        row_squared_errors(
            side.ratings(data.side_target(side, sample.model.coef)),
            Side(sample.model.user_bias, sample.user_vectors),
            Side(sample.model.item_bias, sample.item_vectors),
            per_user,
        )
        return float(per_user.sum())

    def _draw_noise(self, sample: Sample, rng: np.random.Generator) -> float:
        # The residuals of a model fitted to the same ratings understate the noise
        # by the parameters' degrees of freedom; without this correction the noise
        # precision drifts up with the rank and the model overfits (benchmarks/
        # README.md, "Figures behind code choices"). The rows' leverages count those
        # degrees, as in the residual-variance estimate of ridge regression.
        residual_weight = self.data.total_weight - self.degrees_of_freedom
        shape = self.shape + 0.5 * max(residual_weight, 1.0)
        rate = self.rate + 0.5 * self._squared_error(sample)
        return float(rng.gamma(shape, 1.0 / rate))

    def _prior(self, rows: np.ndarray, rng: np.random.Generator) -> NormalPrior:
        return sample_normal_prior(rows, self.shape, self.rate, rng)

    def _draw_side(
        self,
        side: SideIndex,
        sample: Sample,
        other_bias,
        other_vectors,
        bias_prior: NormalPrior,
        factor_prior: NormalPrior,
        seeds,
        seed,
        bias,
        vectors,
        factors,
        deviation,
        n_rows_with_weight,
    ) -> float:
        """Draw one side's biases and full vectors, and move its factors along (the
        implicit sums stay); return the rows' summed leverage."""
        implicit_sums = self._implicit_sums(vectors, factors)
        gibbs_half_step(
            side.chunks,
            side.ratings(self.data.side_target(side, sample.model.coef)),
            Side(other_bias, other_vectors),
            sample.noise_precision,
            Prior(float(bias_prior.mean[0]), float(bias_prior.precision[0])),
            Prior(factor_prior.mean, factor_prior.precision),
            implicit_sums,
            seeds,
            np.uint64(seed),
            Side(bias, vectors),
            deviation,
        )
        if implicit_sums.shape[0]:
            factors[:] = vectors - implicit_sums
        # A row's leverage tr(A^-1 G) is dim - tr(A^-1 D) / tau (see gibbs_half_step);
        # E[deviation deviation'] = A^-1 / tau makes sum_a D_a deviation_a^2 an
        # unbiased estimate of the second term, and the sum over thousands of rows
        # averages its noise out.
        precisions = np.concatenate((bias_prior.precision, factor_prior.precision))
        return float(
            n_rows_with_weight * deviation.shape[1]
            - (np.square(deviation) @ precisions).sum()
        )

    def _draw_implicit(
        self,
        term: ImplicitTerm,
        implicit: np.ndarray,
        factors: np.ndarray,
        factor_prior: NormalPrior,
        rows_with_weight: np.ndarray,
        cols_with_weight: np.ndarray,
        seeds: np.ndarray,
        seed: int,
        rng: np.random.Generator,
    ) -> None:
        implicit_prior = self._prior(implicit[cols_with_weight], rng)
        residual = factors - factor_prior.mean
        cols = term.cols
        gibbs_implicit(
            cols.ratings(),
            term.row_scale,
            Prior(implicit_prior.mean, implicit_prior.precision),
            factor_prior.precision,
            seeds,
            np.uint64(seed),
            residual,
            implicit,
        )
        # The full vectors are held fixed: what y no longer explains moves to p.
        factors[rows_with_weight] = (residual + factor_prior.mean)[rows_with_weight]

    def _draw_coef(self, sample: Sample, rng: np.random.Generator) -> None:
        data, model = self.data, sample.model
        prior = self._prior(model.coef[:, None], rng)
        residual = (
            data.target
            - model.estimate(data, sample.user_vectors, sample.item_vectors)
            + data.feature_term(model.coef)
        )
        tau = sample.noise_precision
        precision = tau * self._feature_gram
        precision[np.diag_indices_from(precision)] += prior.precision[0]
        rhs = tau * (data.features.T @ (data.weight * residual)) + (
            prior.precision[0] * prior.mean[0]
        )
        # One factorisation serves the mean and the noise L^-T e.
        factor = scipy.linalg.cholesky(precision, lower=True)
        mean = scipy.linalg.cho_solve((factor, True), rhs)
        model.coef[:] = mean + scipy.linalg.solve_triangular(
            factor, rng.standard_normal(mean.shape[0]), trans="T", lower=True
        )

    def sweep(self, sample: Sample, rng: np.random.Generator) -> None:
        """Draw every parameter once, in place: priors, noise, users, items, implicit
        vectors, feature coefficients."""
        data, model = self.data, sample.model
        users, items = self.users_with_weight, self.items_with_weight
        seeds = rng.integers(_SWEEP_SEED_MAX, size=4)
        sample.user_bias_prior = self._prior(model.user_bias[users, None], rng)
        sample.item_bias_prior = self._prior(model.item_bias[items, None], rng)
        sample.user_prior = user_prior = self._prior(model.user_factors[users], rng)
        sample.item_prior = item_prior = self._prior(model.item_factors[items], rng)
        sample.noise_precision = self._draw_noise(sample, rng)

        user_leverage = self._draw_side(
            data.by_user,
            sample,
            model.item_bias,
            sample.item_vectors,
            sample.user_bias_prior,
            user_prior,
            self.user_seeds,
            seeds[0],
            model.user_bias,
            sample.user_vectors,
            model.user_factors,
            sample.user_deviation,
            np.count_nonzero(users),
        )
        sample.conditioning_items[:] = sample.item_vectors
        item_leverage = self._draw_side(
            data.by_item,
            sample,
            model.user_bias,
            sample.user_vectors,
            sample.item_bias_prior,
            item_prior,
            self.item_seeds,
            seeds[1],
            model.item_bias,
            sample.item_vectors,
            model.item_factors,
            sample.item_deviation,
            np.count_nonzero(items),
        )
        self.degrees_of_freedom = user_leverage + item_leverage
        if self.user_term is not None:
            self._draw_implicit(
                self.user_term,
                model.item_implicit,
                model.user_factors,
                user_prior,
                users,
                items,
                self.item_seeds,
                seeds[2],
                rng,
            )
        if self.item_term is not None:
            self._draw_implicit(
                self.item_term,
                model.user_implicit,
                model.item_factors,
                item_prior,
                items,
                users,
                self.user_seeds,
                seeds[3],
                rng,
            )
        if model.coef.size:
            self._draw_coef(sample, rng)
