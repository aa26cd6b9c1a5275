"""BayesianMatrixFactorization: the factorization model fitted by Gibbs sampling."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import COMMON_CONSTRAINTS, BaseFactorization, encode_rows
from ._solvers import implicit_sides, initial_model
from ._solvers._chain import sample_posterior
from ._solvers._gibbs import GibbsSampler
from ._solvers._summary import Posterior, PosteriorSide, PosteriorSummary
from ._state import FittedAttribute, FittedState, RatingHistory, SideState
from ._training_set import TrainingSet
from .utils._random import draw_seeds
from .utils._sklearn import Interval, StrOptions
from .utils._threads import numba_threads
from .utils._validation import RatingInput


def _moments_of(side: PosteriorSide, codes: np.ndarray):
    # Unknown ids (code -1) read the last row: the fallback mean and prior moments.
    return (
        side.bias_variance[codes],
        side.vectors[codes],
        side.vector_variance[codes],
    )


class BayesianMatrixFactorization(BaseFactorization):
    """Biased matrix factorization fitted by Gibbs sampling, with predictive uncertainty.

    The model is :class:`MatrixFactorization`'s, read as a likelihood: a rating is

    .. math:: r_{ui} = \\mu + b_u + b_i + v_u^\\top w_i + x_{ui}^\\top c
        + \\varepsilon, \\qquad \\varepsilon \\sim N(0, 1 / (\\tau w_{ui}))

    with the global mean :math:`\\mu`, biases :math:`b`, full vectors :math:`v_u` and
    :math:`w_i` (the factors :math:`p_u, q_i` plus, with ``implicit_feedback``, the
    implicit sums :math:`z_u, h_i` described in :class:`MatrixFactorization`), the
    side features' coefficients :math:`c` and the noise precision :math:`\\tau` scaled
    by the relative sample weight (divided by the mean weight). Each group of
    parameters (user biases, item biases, user factors, item factors, each side's
    implicit vectors, the coefficients) has a normal prior with its own mean and
    precision per factor, and these have a Normal-Gamma hyper-prior (as in BPMF and
    libFM's MCMC), so the regularisation is learned from the data instead of tuned.
    :math:`\\tau` has a Gamma prior.

    Each of the ``n_iter`` sweeps draws every parameter from its conditional
    posterior: the hyper-parameters and :math:`\\tau`, then every user's bias and
    vector jointly (parallel over users), every item's, the implicit vectors and the
    coefficients. The first ``burn_in`` sweeps are discarded; the prediction is the
    average over the other sweeps' predictions.

    Read more in the :ref:`User Guide <bayesian>`.

    Parameters
    ----------
    n_components : int, default=32
        Length of the latent user and item vectors.

    n_iter : int, default=200
        Number of Gibbs sweeps, ``burn_in`` included.

    burn_in : int, default=50
        Number of first sweeps left out of the prediction. Must be below ``n_iter``.

    implicit_feedback : {False, True, "users", "items", "both"}, default="both"
        Which implicit-feedback terms to add, as in :class:`MatrixFactorization`.
        Both terms are on by default: on MovieLens they lower the RMSE the most, and
        the hyper-priors learn how much to regularise them.

    prior_shape : float, default=1.0
        Shape of the Gamma hyper-prior on every precision (each group's, per factor,
        and the noise's). The sampler fits the ratings standardised by their
        standard deviation ``rating_scale_``, so the priors mean the same on any
        rating scale: fitting ``a * y + b`` (``a > 0``) predicts ``a`` times the
        means plus ``b``, with ``a`` times the standard deviations.

    prior_rate : float, default=1.0
        Rate of the Gamma hyper-prior on every precision, in the units of the
        standardised ratings.

    init_std : float, default=0.1
        Standard deviation of the normal initial latent vectors.

    clip : bool, default=True
        Whether predictions are clipped to the range of the training ratings.

    n_jobs : int, default=None
        Number of threads for fitting and prediction. ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, ``-1`` means all processors.
        Results are identical for any value.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial vectors and every draw. Pass an int for reproducible
        results.

    verbose : int, default=0
        Whether to print one line per sweep: noise standard deviation and seconds.

    Attributes
    ----------
    global_mean_ : float
        Weighted mean of the training ratings.

    rating_scale_ : float
        Weighted standard deviation of the training ratings (1.0 if they are all
        equal): the unit of the standardised ratings the sampler fits.

    user_bias_ : ndarray of shape (n_users,)
        Posterior mean bias of each user in ``users_``.

    item_bias_ : ndarray of shape (n_items,)
        Posterior mean bias of each item in ``items_``.

    user_factors_ : ndarray of shape (n_users, n_interactions)
        With ``item_factors_``, a factorization of the posterior mean interactions:
        ``user_factors_ @ item_factors_.T`` approximates the average over the kept
        sweeps of :math:`v_u^\\top w_i`. Not a sample of :math:`v`; its width,
        ``n_interactions``, is at most ``8 * n_components``.

    item_factors_ : ndarray of shape (n_items, n_interactions)
        See ``user_factors_``.

    users_ : ndarray of shape (n_users,)
        Distinct user ids seen in ``fit``, sorted (numbers before strings).

    items_ : ndarray of shape (n_items,)
        Distinct item ids seen in ``fit``, sorted (numbers before strings).

    coef_ : ndarray of shape (`n_features_in_` - 2,)
        Posterior mean coefficients of the side features, in the units of the input
        columns.

    noise_precision_ : float
        The inverse of the posterior mean noise variance :math:`1 / \\tau`.

    noise_precision_trace_ : ndarray of shape (n_iter,)
        The noise precision drawn in each sweep, burn-in included: a plateau shows
        that the chain has settled.

    rating_range_ : tuple of float
        Smallest and largest training rating; predictions are clipped to it.

    n_iter_ : int
        Number of sweeps run.

    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``, ids included.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` seen in ``fit``, when they are all strings.

    See Also
    --------
    MatrixFactorization : The point estimate of the same model, fitted by ALS or SGD.
    sklearn.linear_model.BayesianRidge : Bayesian ridge regression, whose
        ``predict(X, return_std=True)`` this estimator mirrors.

    Notes
    -----
    Two choices make the sampler fast and its predictions compact:

    - With implicit feedback, the sampler draws the full vectors :math:`v_u` rather
      than :math:`p_u`, so that each row's conditional stays a small ridge problem;
      given :math:`v`, the implicit vectors meet the data only through the prior of
      :math:`p_u = v_u - z_u`.
    - The average of the sweeps' interactions is kept as a streaming low-rank
      sketch (Tropp et al., 2017) instead of the samples themselves.

    The noise precision is drawn from its conditional with the residual degrees of
    freedom reduced by the leverage of the rows' parameters, as the residual
    variance of ridge regression is estimated. Without it the residuals of an
    overfitted sample pull the noise precision up with the rank.

    The predictive standard deviation adds the mean noise variance to the
    posterior variance of :math:`b_u + b_i + v_u^\\top w_i`, computed from per-row
    moments as if the user's and the item's parameters were independent. Unknown ids
    predict like in :class:`MatrixFactorization` and their parameters' variance is
    the prior's.

    Every random draw is seeded by its row's id and the sweep, so results do not
    depend on ``n_jobs``.

    References
    ----------
    R. Salakhutdinov and A. Mnih, "Bayesian probabilistic matrix factorization using
    Markov chain Monte Carlo", ICML 2008.

    S. Rendle, "Factorization machines with libFM", ACM TIST 3(3), 2012.

    Examples
    --------
    >>> from sklearn_mf import BayesianMatrixFactorization
    >>> X = [["ann", "alien"], ["ann", "heat"], ["bob", "alien"], ["cid", "heat"]]
    >>> y = [5.0, 3.0, 4.0, 2.0]
    >>> model = BayesianMatrixFactorization(n_components=2, n_iter=30, burn_in=10,
    ...                                     random_state=0).fit(X, y)
    >>> mean, std = model.predict([["bob", "heat"], ["dan", "alien"]], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((2,), True)
    """

    _count_parameters = ("n_components", "n_iter", "burn_in")

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 2, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left")],
        "implicit_feedback": ["boolean", StrOptions({"users", "items", "both"})],
        "prior_shape": [Interval(Real, 0, None, closed="neither")],
        "prior_rate": [Interval(Real, 0, None, closed="neither")],
        "init_std": [Interval(Real, 0, None, closed="left")],
        "clip": ["boolean"],
        **COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        n_components: int = 32,
        *,
        n_iter: int = 200,
        burn_in: int = 50,
        implicit_feedback: bool | str = "both",
        prior_shape: float = 1.0,
        prior_rate: float = 1.0,
        init_std: float = 0.1,
        clip: bool = True,
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_components = n_components
        self.n_iter = n_iter
        self.burn_in = burn_in
        self.implicit_feedback = implicit_feedback
        self.prior_shape = prior_shape
        self.prior_rate = prior_rate
        self.init_std = init_std
        self.clip = clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None) -> "BayesianMatrixFactorization":
        """Sample the posterior of the model given the observed ratings.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            One row per rating: user id, item id, then optional numeric side features.
            Ids may be integers, floats or strings.

        y : array-like of shape (n_samples,)
            The ratings.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each rating; an integer weight counts as that many
            repeated rows.

        Returns
        -------
        self : BayesianMatrixFactorization
            The fitted estimator.
        """
        self._check_counts()
        if self.burn_in >= self.n_iter:
            raise ValueError(
                f"burn_in={self.burn_in} leaves no sweep to keep: it must be below "
                f"n_iter={self.n_iter}."
            )
        ratings, y, sample_weight, metadata = self._validate_fit_input(
            X, y, sample_weight
        )
        self._install(self._sampled_state(ratings, y, sample_weight), metadata)
        return self

    noise_precision_ = FittedAttribute(
        lambda state: (
            1.0 / state.posterior.noise_variance
            if state.posterior.noise_variance > 0
            else np.inf  # the variance of ratings of a tiny spread underflows
        )
    )
    noise_precision_trace_ = FittedAttribute(lambda state: state.noise_precision_trace)

    def _sampled_state(
        self, ratings: RatingInput, y: np.ndarray, sample_weight: np.ndarray
    ) -> FittedState:
        """The fitted state of the validated ratings: the chain's posterior."""
        init_seed, chain_seed, sketch_seed = draw_seeds(self.random_state, 3)
        train_set = TrainingSet(ratings, y, sample_weight)
        sides = implicit_sides(self.implicit_feedback)
        user_seeds, item_seeds = train_set.user_seeds, train_set.item_seeds
        with numba_threads(self.n_jobs, single_blas_thread=True) as n_threads:
            data = train_set.rating_data(self.n_components, 4 * n_threads)
            model = initial_model(
                user_seeds,
                item_seeds,
                train_set.features.shape[1],
                self.n_components,
                sides,
                init_seed,
                self.init_std,
                np.float64,
            )
            model.user_factors[data.user_weight == 0] = 0.0
            model.item_factors[data.item_weight == 0] = 0.0
            sampler = GibbsSampler(
                data,
                implicit_sides=sides,
                shape=self.prior_shape,
                rate=self.prior_rate,
                user_seeds=user_seeds,
                item_seeds=item_seeds,
            )
            summary = PosteriorSummary(
                user_seeds,
                item_seeds,
                self.n_components,
                train_set.features.shape[1],
                8 * self.n_components,
                sketch_seed,
            )
            posterior, trace = sample_posterior(
                sampler,
                summary,
                model,
                n_iter=self.n_iter,
                burn_in=self.burn_in,
                chain_seed=chain_seed,
                rating_scale=train_set.rating_scale,
                verbose=self.verbose,
            )
        by_user = data.by_user
        interaction = (posterior.user_interaction, posterior.item_interaction)
        # A column constant in training says nothing of its coefficient, which would
        # be a draw from its prior: it does not enter the predictions.
        coef = np.where(
            train_set.constant_features, 0.0, posterior.coef / train_set.feature_scale
        )
        return FittedState(
            users=SideState(train_set.users, posterior.users.bias[:-1], interaction[0]),
            items=SideState(train_set.items, posterior.items.bias[:-1], interaction[1]),
            global_mean=train_set.global_mean,
            rating_scale=train_set.rating_scale,
            rating_range=train_set.rating_range,
            coef=coef,
            feature_mean=train_set.feature_mean,
            history=RatingHistory(by_user.indptr, by_user.other),
            n_iter=self.n_iter,
            posterior=posterior,
            noise_precision_trace=trace,
        )

    def predict(self, X, return_std: bool = False):
        """Predict the rating of each (user, item) row of ``X``: the posterior mean.

        Unknown ids never raise and fall back as in :class:`MatrixFactorization`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Column 0 holds user ids, column 1 item ids, further columns the same
            numeric side features as in ``fit``.

        return_std : bool, default=False
            Whether to return the standard deviation of the posterior predictive
            distribution too (noise included).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Posterior mean ratings, clipped to ``rating_range_`` unless
            ``clip=False``.

        y_std : ndarray of shape (n_samples,)
            Standard deviation of the predictive distribution of each rating. Only
            returned when ``return_std`` is True.
        """
        check_is_fitted(self)
        if not isinstance(return_std, (bool, np.bool_)):
            raise TypeError(
                f"return_std must be a bool; got {type(return_std).__name__}."
            )
        state = self._state  # read once, as in MatrixFactorization.predict
        rows = encode_rows(state, self._validate_X(X))
        mean = self._predict_mean(state, rows)
        if not return_std:
            return mean
        variance = _predictive_variance(
            state.posterior, rows.user_codes, rows.item_codes
        )
        return mean, np.sqrt(variance)


def _predictive_variance(
    posterior: Posterior, user_codes: np.ndarray, item_codes: np.ndarray
) -> np.ndarray:
    user_bias_var, user_mean, user_var = _moments_of(posterior.users, user_codes)
    item_bias_var, item_mean, item_var = _moments_of(posterior.items, item_codes)
    # Var(xy) = E[x]^2 Var(y) + E[y]^2 Var(x) + Var(x) Var(y) for independent x
    # and y, summed over the factors.
    interaction = np.einsum(
        "nf,nf->n", np.square(user_mean) + user_var, item_var
    ) + np.einsum("nf,nf->n", np.square(item_mean), user_var)
    return posterior.noise_variance + user_bias_var + item_bias_var + interaction
