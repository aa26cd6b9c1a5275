"""MatrixFactorization: biased matrix factorization fitted by ALS or SGD."""

import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from ._alpha_search import SEARCH_TOL, search_alpha
from ._alpha_search import START as AUTO_START
from ._attributes import SideAttributes, describe_unknown, find_attributes
from ._base import (
    COMMON_CONSTRAINTS,
    SEED_MAX,
    BaseFactorization,
    TrainingSet,
    implicit_sides,
    initial_model,
)
from ._fold_in import fold_in
from ._ids import lookup_codes
from ._kernels._predict import predict_codes
from ._ratings import RatingData, SideIndex, _is_unit_weights
from ._solvers import SOLVERS, FactorModel, TrainingResult, solver_class, train
from .utils._sklearn import Interval, StrOptions
from .utils._threads import numba_threads
from .utils._validation import RatingInput


class _Seeds(NamedTuple):
    """The seeds a fit draws from ``random_state``: initial vectors, SGD's visiting
    order, the held-out slice."""

    init: int
    order: int
    split: int


def _held_out(ratings: RatingInput, y, sample_weight, fraction: float, seed: int):
    """``(ratings, y, sample_weight, validation)`` with ``fraction`` of the rows held
    out at random as ``validation``; None when no row could be held out, or none
    with positive weight would be left for training."""
    n_samples = ratings.n_samples
    n_validation = int(np.ceil(fraction * n_samples))
    if n_validation >= n_samples:
        return None
    order = np.random.RandomState(seed).permutation(n_samples)
    parts = [np.sort(order[n_validation:]), np.sort(order[:n_validation])]
    (train_ratings, val_ratings) = (
        RatingInput(ratings.users[p], ratings.items[p], ratings.features[p])
        for p in parts
    )
    train_weight = sample_weight[parts[0]]
    if not train_weight.any():
        return None
    validation = (val_ratings, y[parts[1]], sample_weight[parts[1]])
    return train_ratings, y[parts[0]], train_weight, validation


def _carry_over(
    model: FactorModel,
    train_set: TrainingSet,
    source: FactorModel,
    source_users: np.ndarray,
    source_items: np.ndarray,
) -> None:
    """Give the ids of ``train_set`` that ``source`` knows (``source_users``,
    ``source_items``) their biases, factors and implicit vectors in ``source``, and
    ``model`` the coefficients of ``source`` when they are as many."""
    for ids, source_ids, rows, source_rows in (
        (
            train_set.users,
            source_users,
            (model.user_bias, model.user_factors, model.user_implicit),
            (source.user_bias, source.user_factors, source.user_implicit),
        ),
        (
            train_set.items,
            source_items,
            (model.item_bias, model.item_factors, model.item_implicit),
            (source.item_bias, source.item_factors, source.item_implicit),
        ),
    ):
        codes = lookup_codes(source_ids, ids)
        known = codes >= 0
        for values, source_values in zip(rows, source_rows, strict=True):
            # Implicit vectors only where both models have the term.
            if values.shape[0] and source_values.shape[0]:
                values[known] = source_values[codes[known]]
    if model.coef.size == source.coef.size:
        model.coef[:] = source.coef


def _or_empty(values: np.ndarray | None, empty: np.ndarray, scale=1.0) -> np.ndarray:
    return empty if values is None else values * scale


class MatrixFactorization(BaseFactorization):
    """Biased matrix factorization of a ratings matrix, as a scikit-learn regressor.

    Each row of ``X`` is one observed rating: column 0 the user id, column 1 the item
    id, further columns optional numeric side features. The predicted rating of user
    ``u`` for item ``i`` is

    .. math:: \\hat r_{ui} = \\mu + b_u + b_i + p_u^\\top q_i + x_{ui}^\\top c

    with the global mean :math:`\\mu` (the weighted mean training rating), user and
    item biases :math:`b`, latent vectors :math:`p_u, q_i` of length ``n_components``
    and a linear term on the standardised side features :math:`x`. The parameters
    minimise, over the observed ratings only,

    .. math::

        \\sum_{(u,i)} w_{ui} \\Big[(r_{ui} - \\hat r_{ui})^2
        + \\alpha s (\\|p_u\\|^2 + \\|q_i\\|^2)
        + \\alpha_b (b_u^2 + b_i^2 + \\|c\\|^2)\\Big]

    where :math:`s` (``rating_scale_``) is the weighted standard deviation of the
    training ratings and :math:`w` are the sample weights divided by their mean.
    This is the same as fitting the standardised ratings :math:`(r - \\mu) / s` with
    penalty :math:`\\alpha`, which is what the solvers do: ``alpha``, ``init_std``
    and ``learning_rate`` mean the same on any rating scale, fitting ``a * y + b``
    (``a > 0``) predicts ``a`` times the predictions plus ``b``, and multiplying
    every sample weight by one constant changes nothing. Each user's and item's
    penalty grows with its (weighted) number of ratings: this is the objective that
    per-rating SGD regularisation minimises (Surprise's ``SVD``, whose ``reg_all``
    is ``alpha * s`` and ``alpha_bias``) and the weighted-lambda regularisation of
    ALS-WR (Spark's ALS). All solvers minimise it, so a tuned ``alpha`` means the
    same whichever solver runs.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_components : int, default=64
        Length of the latent user and item vectors. ``0`` fits biases only.

    solver : {"cg", "als", "sgd"}, default="cg"
        ``"als"`` alternates exact ridge solves for all users, all items and the
        feature coefficients (parallel over rows, the loss never increases).
        ``"cg"`` alternates the same way but takes ``cg_steps`` conjugate-gradient
        steps on each row's ridge problem, starting from the previous epoch's
        solution, instead of solving it exactly: several times faster per epoch for
        the same accuracy at convergence, and the loss still never increases (up
        to float32 rounding once a factor matrix exceeds 16 MiB, see the user
        guide).
        ``"sgd"`` takes a gradient step per rating, visiting them in a new random
        order each epoch, as Surprise's ``SVD`` does, in parallel over blocks of
        users and items that share no row, with the parameters held in float32
        while it trains.

    cg_steps : int, default=3
        Conjugate-gradient steps per row and epoch with ``solver="cg"``.

    alpha : float or "auto", default="auto"
        L2 penalty on the latent vectors, per rating, for ratings in units of their
        standard deviation (see the objective). Must be positive. ``"auto"`` holds
        out ``validation_fraction`` of the ratings and fits the rest with penalties
        from a geometric ladder, 0.08 times powers of 1.4 (up from 0.08 while the
        held-out error stays within a standard error of the best so far, then down
        while it falls; each fit starts from the previous one). The chosen penalty,
        ``alpha_``, is the largest within one standard error of the best (paired
        over the held-out ratings), and all the ratings are then fitted with it,
        starting from its fit. The top of the ladder shrinks every vector to zero,
        so when the factors do not measurably help, the model is the bias-only one.
        The search costs about one to two fits more (see ``benchmarks/``). The
        held-out slice is drawn from the known users and items alike; tune
        ``alpha`` by cross-validation (``GroupKFold``) for cold-start use.

    alpha_bias : float, default=0.05
        L2 penalty on the biases and feature coefficients, per rating. Biases scale
        with the ratings, so this penalty means the same in any units.

    fit_bias : bool, default=True
        Whether to learn user and item biases. The global mean is always used.

    implicit_feedback : {False, True, "users", "items", "both"}, default=False
        Which implicit-feedback terms to add. ``"users"`` (or ``True``) is SVD++'s
        (Koren 2008): user ``u``'s vector becomes :math:`p_u + z_u` with
        :math:`z_u = (\\sum_{j} w_{uj})^{-1/2} \\sum_{j} w_{uj} y_j` over the items
        ``j`` the user rated in training (weighted by the relative weights), one implicit
        vector :math:`y_j` per item. ``"items"`` is its mirror image: item ``i``'s
        vector becomes :math:`q_i + h_i`, the normalised sum of implicit vectors
        :math:`x_u` of the users who rated it. ``"both"`` adds both. Unknown ids keep
        the usual fallbacks. ``solver="cg"`` and ``"als"`` update the implicit
        vectors by conjugate-gradient steps (``cg_steps`` per epoch, 3 with
        ``"als"``). ``solver="sgd"`` takes one term, ``"users"`` or ``"items"``, and
        updates its implicit vectors at every rating as Surprise's ``SVDpp`` does,
        visiting the ratings row by row (users for ``"users"``) on one thread.

    feature_factors : bool, default=False
        Whether the side features that describe users or items also get latent
        vectors. A feature column whose value never changes within any user's
        training ratings is a user attribute (age, gender, one-hot occupation), one
        constant within every item's ratings an item attribute (one-hot genres);
        other columns stay in the linear term only. With ``feature_factors=True``
        each attribute column ``f`` gets a latent vector :math:`v_f`, and a user's
        vector becomes :math:`p_u + \\sum_f x_{uf} v_f` over its standardised
        attribute values (items alike), penalised by ``alpha`` per rating. A user or
        item never seen in training then gets a personal prediction from the
        attributes in its rows, where it would otherwise get the bias-only fallback.
        Supported by ``solver="cg"`` and ``"als"``.

    alpha_implicit : float or None, default=None
        L2 penalty on the implicit vectors, per rating of their row (as ``alpha`` for
        the factors). ``None`` means ``10 * alpha_``: an implicit vector enters the
        predictions of every rating of every row that rated it, and cross-validation
        on MovieLens 100K and 1M preferred a penalty about ten times ``alpha``. Only
        used with ``implicit_feedback``.

    max_iter : int, default=50
        Maximum number of epochs (one ALS sweep, or one SGD pass over the ratings).

    tol : float or None, default=1e-3
        Training stops when the monitored score (training loss, or validation RMSE
        with ``early_stopping``) has not improved by at least ``tol`` times its best
        value for ``n_iter_no_change`` consecutive epochs. ``None`` runs all
        ``max_iter`` epochs. The fits of the ``alpha="auto"`` search stop at a
        tolerance of at least 1e-2 after one epoch without improvement.

    learning_rate : float, default=0.005
        SGD step size on the standardised ratings. Surprise's ``lr_all`` on ratings
        of spread :math:`s` takes the same steps on the vectors as
        ``learning_rate = lr_all * s`` (and steps :math:`s` times larger on the
        biases). Only used by ``solver="sgd"``.

    init_std : float, default=0.1
        Standard deviation of the normal initial latent vectors, in the units of the
        standardised ratings.

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the ratings, monitor their RMSE
        after each epoch, stop when it stops improving and keep the best model.

    validation_fraction : float, default=0.1
        Share of the ratings held out when ``early_stopping=True``, and to choose
        the penalty when ``alpha="auto"``.

    n_iter_no_change : int, default=2
        Number of epochs without improvement by ``tol`` before training stops.

    clip : bool, default=True
        Whether predictions are clipped to the range of the training ratings.

    warm_start : bool, default=False
        Whether ``fit`` starts from the previous solution: ids known to the previous
        fit keep their biases and vectors, new ids are initialised afresh.

    n_jobs : int, default=None
        Number of threads for fitting (every solver) and for prediction. ``None`` means 1
        unless in a :func:`joblib.parallel_config` context, ``-1`` means all
        processors. Results are identical for any value.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial vectors, the SGD order and the validation split. Pass an int
        for reproducible results.

    verbose : int, default=0
        Whether to print one line per epoch: training loss, validation RMSE, seconds;
        with ``alpha="auto"``, also one line per penalty tried (and from
        ``verbose=2`` on, the epochs of those fits).

    Attributes
    ----------
    global_mean_ : float
        Weighted mean of the training ratings.

    rating_scale_ : float
        Weighted standard deviation of the training ratings (1.0 if they are all
        equal): the unit of the standardised ratings the solvers fit.

    user_bias_ : ndarray of shape (n_users,)
        Bias of each user in ``users_``.

    item_bias_ : ndarray of shape (n_items,)
        Bias of each item in ``items_``.

    user_factors_ : ndarray of shape (n_users, n_components)
        Latent vector of each user in ``users_``.

    item_factors_ : ndarray of shape (n_items, n_components)
        Latent vector of each item in ``items_``.

    item_implicit_factors_ : ndarray of shape (n_items, n_components) or None
        Implicit vector :math:`y_j` of each item in ``items_`` (summed into the
        vectors of the users who rated it), or None without the ``"users"`` term.

    user_implicit_factors_ : ndarray of shape (n_users, n_components) or None
        Implicit vector :math:`x_u` of each user in ``users_`` (summed into the
        vectors of the items the user rated), or None without the ``"items"`` term.

    users_ : ndarray of shape (n_users,)
        Distinct user ids seen in ``fit``, sorted (numbers before strings).

    items_ : ndarray of shape (n_items,)
        Distinct item ids seen in ``fit``, sorted (numbers before strings).

    coef_ : ndarray of shape (`n_features_in_` - 2,)
        Coefficients of the side features, in the units of the input columns.

    feature_sides_ : ndarray of shape (`n_features_in_` - 2,) or None
        With ``feature_factors=True``, what each feature column describes:
        ``"user"``, ``"item"`` or ``"rating"`` (neither, linear term only); else None.

    feature_factors_ : ndarray of shape (`n_features_in_` - 2, n_components) or None
        With ``feature_factors=True``, the latent vector of each feature column, in
        the units of the input column (zero for ``"rating"`` columns); a row's user
        (item) vector adds ``(x - mean) @ feature_factors_`` over the user (item)
        columns. None without ``feature_factors``.

    alpha_ : float
        The factor penalty of the fitted model: ``alpha``, or the one chosen when
        ``alpha="auto"``.

    alpha_scores_ : dict of float to float or None
        With ``alpha="auto"``, the held-out RMSE of each penalty tried; else None.
        Also None when there were too few ratings to hold any out (``alpha_`` is
        then 0.08).

    rating_range_ : tuple of float
        Smallest and largest training rating; predictions are clipped to it.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training objective (divided by the total relative weight, in squared rating
        units) after each epoch. For
        ``solver="sgd"`` the squared errors in it are those met during the epoch,
        each taken just before its rating's step (as scikit-learn's SGD estimators
        report their loss), which saves a pass over the ratings per epoch.

    validation_scores_ : list of float or None
        Validation RMSE after each epoch with ``early_stopping``, else None.

    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``, ids included.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` seen in ``fit``, when they are all strings.

    See Also
    --------
    sklearn.linear_model.Ridge : The per-row problem each ALS step solves.

    Notes
    -----
    Users (items) whose ratings all have zero weight get zero bias and factors, so they
    are predicted like unknown ids. Duplicate (user, item) rows are separate
    observations. Initial vectors are drawn from a generator seeded by the id itself
    and ``random_state``, so a user starts from the same vector whatever other rows
    the data holds.

    References
    ----------
    Y. Koren, R. Bell and C. Volinsky, "Matrix factorization techniques for recommender
    systems", IEEE Computer 42(8), 2009.

    Y. Zhou, D. Wilkinson, R. Schreiber and R. Pan, "Large-scale parallel collaborative
    filtering for the Netflix prize", AAIM 2008.

    Examples
    --------
    >>> from sklearn_mf import MatrixFactorization
    >>> X = [["ann", "alien"], ["ann", "heat"], ["bob", "alien"], ["cid", "heat"]]
    >>> y = [5.0, 3.0, 4.0, 2.0]
    >>> model = MatrixFactorization(n_components=2, random_state=0).fit(X, y)
    >>> model.users_
    array(['ann', 'bob', 'cid'], dtype=object)
    >>> model.predict([["bob", "heat"], ["dan", "alien"]]).round(2)
    array([...])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
        "cg_steps": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "alpha_bias": [Interval(Real, 0, None, closed="left")],
        "fit_bias": ["boolean"],
        "implicit_feedback": ["boolean", StrOptions({"users", "items", "both"})],
        "feature_factors": ["boolean"],
        "alpha_implicit": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "init_std": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "clip": ["boolean"],
        "warm_start": ["boolean"],
        **COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        n_components: int = 64,
        *,
        solver: str = "cg",
        cg_steps: int = 3,
        alpha: float | str = "auto",
        alpha_bias: float = 0.05,
        fit_bias: bool = True,
        implicit_feedback: bool | str = False,
        feature_factors: bool = False,
        alpha_implicit: float | None = None,
        max_iter: int = 50,
        tol: float | None = 1e-3,
        learning_rate: float = 0.005,
        init_std: float = 0.1,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 2,
        clip: bool = True,
        warm_start: bool = False,
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_components = n_components
        self.solver = solver
        self.cg_steps = cg_steps
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        self.implicit_feedback = implicit_feedback
        self.feature_factors = feature_factors
        self.alpha_implicit = alpha_implicit
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.init_std = init_std
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.clip = clip
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None) -> "MatrixFactorization":
        """Fit the model to the observed ratings.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            One row per rating: user id, item id, then optional numeric side features.
            Ids may be integers, floats or strings.

        y : array-like of shape (n_samples,)
            The ratings.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each rating. Only ratios of weights matter: they
            are divided by the mean of the positive ones. Without implicit feedback
            an integer weight counts as that many repeated rows.

        Returns
        -------
        self : MatrixFactorization
            The fitted estimator.
        """
        if len(self._implicit_sides()) > 1 and self.solver == "sgd":
            raise ValueError(
                f"implicit_feedback={self.implicit_feedback!r} is supported by "
                "solver='cg' and solver='als'; solver='sgd' takes one implicit "
                "term, 'users' (True) or 'items'."
            )
        if self.feature_factors and self.solver == "sgd":
            raise ValueError(
                "feature_factors=True is supported by solver='cg' and solver='als', "
                "not by solver='sgd'."
            )
        ratings, y, sample_weight = self._validate_fit_input(X, y, sample_weight)
        seeds = _Seeds(*check_random_state(self.random_state).randint(SEED_MAX, size=3))
        alpha, alpha_scores, held_out_fit = self._choose_alpha(
            ratings, y, sample_weight, seeds
        )
        ratings, y, sample_weight, validation = self._split_validation(
            ratings, y, sample_weight, seeds.split
        )
        train_set = TrainingSet(ratings, y, sample_weight)
        attributes = self._attributes(train_set)
        with numba_threads(self.n_jobs, single_blas_thread=True) as n_threads:
            data = train_set.rating_data(self.n_components, 4 * n_threads)
            model = self._fresh_model(train_set, data, seeds.init, attributes)
            if held_out_fit is not None:
                # All the ratings start from the search's fit of most of them.
                _carry_over(model, train_set, *held_out_fit)
            result, solver = self._train(
                train_set,
                data,
                attributes,
                alpha,
                seeds.order,
                validation,
                model,
            )
            # The solvers fitted standardised ratings; the fitted attributes are in
            # rating units (and float64, whatever precision the solver trained in).
            model = result.model.astype(np.float64).rescaled(train_set.rating_scale)
            full_vectors = solver.full_vectors(model)
            # The rating indexes are the fit's largest arrays: free all but the
            # ratings grouped by user, which the fitted model keeps (recommend,
            # partial_fit), before the fitted attributes are built. SGD's shuffled
            # copy goes with its solver, before that index is built.
            del solver
            by_user = data.by_user
            del data
        self.alpha_, self.alpha_scores_ = alpha, alpha_scores
        self._set_fitted(train_set, by_user, model, *full_vectors)
        self._set_feature_factors(train_set, model, attributes)
        self.n_iter_ = result.n_iter
        self.loss_curve_ = result.loss_curve
        self.validation_scores_ = result.validation_scores
        if not result.converged and self.tol is not None:
            warnings.warn(
                f"MatrixFactorization stopped after max_iter={self.max_iter} epochs "
                "before the stopping rule was met; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _attributes(
        self, train_set: TrainingSet
    ) -> tuple[SideAttributes, SideAttributes] | None:
        if not self.feature_factors:
            return None
        return find_attributes(
            train_set.user_codes,
            train_set.item_codes,
            len(train_set.users),
            len(train_set.items),
            train_set.features,
        )

    def _fresh_model(
        self,
        train_set: TrainingSet,
        data: RatingData,
        seed: int,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ) -> FactorModel:
        """The initial model of a fit (the previous fit's with ``warm_start``)."""
        model = initial_model(
            train_set,
            self.n_components,
            self._implicit_sides(),
            seed,
            self.init_std,
            solver_class(self.solver, self._implicit_sides()).dtype,
            (0, 0) if attributes is None else tuple(a.n_columns for a in attributes),
        )
        if self.warm_start and hasattr(self, "user_factors_"):
            self._reuse_previous(train_set, model, attributes)
        # The objective does not involve rows without weight; zero vectors make
        # them predict like unknown ids, whichever solver runs.
        model.user_factors[data.user_weight == 0] = 0.0
        model.item_factors[data.item_weight == 0] = 0.0
        return model

    def _train(
        self,
        train_set: TrainingSet,
        data: RatingData,
        attributes: tuple[SideAttributes, SideAttributes] | None,
        alpha: float,
        order_seed: int,
        validation,
        model: FactorModel,
        searching: bool = False,
    ) -> tuple[TrainingResult, object]:
        """Fit the standardised ratings of ``train_set`` with the factor penalty
        ``alpha``, starting from ``model`` (which the solver updates in place);
        return the training result and the solver.

        The fits of the penalty search (``searching``) only have to rank the
        penalties: they stop at a looser tolerance, after one epoch without
        improvement, and print their epochs from ``verbose=2`` on.
        """
        tol, patience, verbose = self.tol, self.n_iter_no_change, self.verbose
        if searching:
            tol = max(tol or 0.0, SEARCH_TOL)
            patience, verbose = 1, max(verbose - 1, 0)
        solver_type = solver_class(self.solver, self._implicit_sides())
        solver = solver_type(
            data,
            alpha=alpha,
            alpha_bias=self.alpha_bias,
            fit_bias=self.fit_bias,
            implicit_sides=self._implicit_sides(),
            alpha_implicit=(
                10 * alpha if self.alpha_implicit is None else self.alpha_implicit
            ),
            attributes=attributes,
            learning_rate=self.learning_rate,
            random_state=np.random.RandomState(order_seed),
            cg_steps=self.cg_steps if self.solver == "cg" else None,
        )
        result = train(
            solver,
            model,
            max_iter=self.max_iter,
            tol=tol,
            n_iter_no_change=patience,
            validation_rmse=self._validation_scorer(
                train_set, validation, solver.full_vectors, attributes
            ),
            verbose=verbose,
            solver_name=self.solver,
            loss_unit=train_set.rating_scale**2,
        )
        return result, solver

    def _choose_alpha(
        self, ratings: RatingInput, y, sample_weight, seeds: _Seeds
    ) -> tuple[float, dict[float, float] | None, tuple | None]:
        """``(alpha_, alpha_scores_, held-out fit)``.

        With ``alpha="auto"``: the penalty of the ladder with the lowest RMSE on
        ``validation_fraction`` of the ratings held out, the RMSE of each penalty
        tried, and the fit of the other ratings with the chosen penalty (its model,
        users and items), from which the fit of all the ratings starts.
        """
        if self.alpha != "auto":
            return self.alpha, None, None
        split = _held_out(
            ratings, y, sample_weight, self.validation_fraction, seeds.split
        )
        if split is None:  # too few ratings to hold any out
            return AUTO_START, None, None
        train_ratings, train_y, train_weight, validation = split
        train_set = TrainingSet(train_ratings, train_y, train_weight)
        attributes = self._attributes(train_set)
        with numba_threads(self.n_jobs, single_blas_thread=True) as n_threads:
            data = train_set.rating_data(self.n_components, 4 * n_threads)

            def score(alpha: float, start: FactorModel | None):
                model = (
                    self._fresh_model(train_set, data, seeds.init, attributes)
                    if start is None
                    else start.copy()
                )
                result, solver = self._train(
                    train_set,
                    data,
                    attributes,
                    alpha,
                    seeds.order,
                    None,
                    model,
                    searching=True,
                )
                errors = self._held_out_errors(
                    train_set, validation, solver.full_vectors, attributes
                )(result.model)
                if self.verbose:
                    rmse = np.sqrt(errors.mean()) * train_set.rating_scale
                    print(f"alpha={alpha}: held-out RMSE {rmse:.5f}")
                return errors, result.model

            alpha, mean_errors, model = search_alpha(score)
        scores = {
            alpha: float(np.sqrt(error) * train_set.rating_scale)
            for alpha, error in mean_errors.items()
        }
        return alpha, scores, (model, train_set.users, train_set.items)

    def _without_implicit_feedback(self) -> bool:
        if implicit_sides(self.implicit_feedback):
            raise AttributeError(
                "partial_fit is not available with implicit_feedback="
                f"{self.implicit_feedback!r}: a new rating moves the implicit sums of "
                "every row that shares its item, so such a model must be refitted."
            )
        return True

    @available_if(_without_implicit_feedback)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None) -> "MatrixFactorization":
        """Fold new ratings, users and items into the fitted model.

        Each user of ``X`` is solved again, exactly, against all its ratings so far
        (those of ``fit``, of earlier ``partial_fit`` calls and of ``X``) with the
        item vectors held fixed; then each item of ``X`` that ``fit`` did not see is
        solved against its ratings so far with the users fixed. Items seen by ``fit``,
        the global mean, the feature coefficients and the attribute factors keep their
        values: a new user's first ratings are absorbed in milliseconds, and the
        model stays what a refit would give those rows if nothing else moved. New
        ids get their attribute part from their first row's features, as in
        ``predict``. On an estimator that is not fitted yet this is ``fit``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            New ratings, in the columns of ``X`` in ``fit``.

        y : array-like of shape (n_samples,)
            The ratings.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each rating, relative to the weights of ``fit``
            (divided by the same mean).

        Returns
        -------
        self : MatrixFactorization
            The updated estimator.

        Notes
        -----
        The fitted model keeps its training ratings for this: their targets (8
        bytes per rating, 16 with sample weights) beside ``recommend``'s record of
        what each user rated. It is not available with ``implicit_feedback``: a rating
        moves the implicit sums of every row that shares its item.

        Examples
        --------
        >>> from sklearn_mf import MatrixFactorization
        >>> from sklearn_mf.datasets import make_ratings
        >>> X, y, _ = make_ratings(n_users=50, n_items=30, n_ratings=600, random_state=0)
        >>> model = MatrixFactorization(n_components=3, random_state=0).fit(X, y)
        >>> new_user = [[1000, 3], [1000, 7], [1000, 12]]
        >>> model = model.partial_fit(new_user, [4.0, 2.0, 5.0])
        >>> model.users_[-1], model.user_factors_.shape
        (np.int64(1000), (51, 3))
        """
        if not hasattr(self, "users_"):
            return self.fit(X, y, sample_weight)
        ratings, y, sample_weight = self._validate_fit_input(
            X, y, sample_weight, reset=False
        )
        with numba_threads(self.n_jobs) as n_threads:
            fold_in(self, ratings, y, sample_weight, 4 * n_threads)
        return self

    def _split_validation(self, ratings: RatingInput, y, sample_weight, seed):
        if not self.early_stopping:
            return ratings, y, sample_weight, None
        split = _held_out(ratings, y, sample_weight, self.validation_fraction, seed)
        if split is None:
            raise ValueError(
                "early_stopping needs ratings with positive sample_weight left for "
                f"training after holding out validation_fraction="
                f"{self.validation_fraction} of the {ratings.n_samples} ratings."
            )
        return split

    def _validation_scorer(
        self,
        train_set: TrainingSet,
        validation,
        full_vectors,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ):
        """The validation RMSE (in rating units) of a model, for early stopping."""
        if validation is None:
            return None
        errors = self._held_out_errors(train_set, validation, full_vectors, attributes)
        return lambda model: float(
            np.sqrt(errors(model).mean()) * train_set.rating_scale
        )

    def _held_out_errors(
        self,
        train_set: TrainingSet,
        validation,
        full_vectors,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ):
        """A function of a model: the squared error of each held-out rating, in
        standardised units, times its weight over their mean (so that the mean of
        these is the weighted mean squared error)."""
        ratings, y, weight = validation
        relative_weight = weight / weight.mean() if weight.any() else 1.0
        user_codes = lookup_codes(train_set.users, ratings.users)
        item_codes = lookup_codes(train_set.items, ratings.items)
        features = (ratings.features - train_set.feature_mean) / train_set.feature_scale
        # The model is scored in the standardised units it is fitted in.
        target = (y - train_set.global_mean) / train_set.rating_scale
        lower, upper = (
            map(train_set.standardised, train_set.rating_range)
            if self.clip
            else (-np.inf, np.inf)
        )
        out = np.empty(ratings.n_samples)

        def errors(model: FactorModel) -> np.ndarray:
            base = features @ model.coef
            user_vectors, item_vectors = full_vectors(model)
            users = (user_codes, user_vectors, model.user_bias)
            items = (item_codes, item_vectors, model.item_bias)
            if attributes is not None:
                # Unknown validation ids are described by their attributes, as
                # predict describes them.
                users = describe_unknown(
                    *users,
                    lambda rows: (
                        features[np.ix_(rows, attributes[0].columns)]
                        @ model.user_attribute_factors
                    ),
                )
                items = describe_unknown(
                    *items,
                    lambda rows: (
                        features[np.ix_(rows, attributes[1].columns)]
                        @ model.item_attribute_factors
                    ),
                )
            predict_codes(
                users[0],
                items[0],
                base,
                users[2],
                items[2],
                users[1],
                items[1],
                lower,
                upper,
                out,
            )
            return relative_weight * (target - out) ** 2

        return errors

    def _reuse_previous(
        self,
        train_set: TrainingSet,
        model: FactorModel,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ) -> None:
        if self.user_factors_.shape[1] != self.n_components:
            raise ValueError(
                f"warm_start=True needs the same n_components as the previous fit "
                f"({self.user_factors_.shape[1]}), got {self.n_components}."
            )
        previous = self._previous_model(train_set)
        _carry_over(model, train_set, previous, self.users_, self.items_)
        if (
            attributes is None
            or self.feature_factors_ is None
            or model.coef.size != self.coef_.size
        ):
            return
        for side, side_attributes, vectors in zip(
            ("user", "item"),
            attributes,
            (model.user_attribute_factors, model.item_attribute_factors),
            strict=True,
        ):
            # A column that describes the same side as before keeps its vector.
            columns = side_attributes.columns
            same = self.feature_sides_[columns] == side
            vectors[same] = previous.user_attribute_factors[columns[same]]

    def _previous_model(self, train_set: TrainingSet) -> FactorModel:
        """The fitted model in the standardised units of ``train_set``; its
        ``user_attribute_factors`` hold the vector of every feature column."""
        no_rows = np.zeros((0, self.n_components))
        feature_scale = train_set.feature_scale
        if self.coef_.size != feature_scale.size:  # not reused: see _reuse_previous
            feature_scale = np.ones(self.coef_.size)
        feature_factors = getattr(self, "feature_factors_", None)
        return FactorModel(
            user_bias=self.user_bias_,
            item_bias=self.item_bias_,
            user_factors=self.user_factors_,
            item_factors=self.item_factors_,
            coef=self.coef_ * feature_scale,
            item_implicit=_or_empty(self.item_implicit_factors_, no_rows),
            user_implicit=_or_empty(self.user_implicit_factors_, no_rows),
            user_attribute_factors=_or_empty(
                feature_factors, no_rows, scale=feature_scale[:, None]
            ),
        ).rescaled(1.0 / train_set.rating_scale)

    def _set_feature_factors(
        self,
        train_set: TrainingSet,
        model: FactorModel,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ) -> None:
        if attributes is None:
            self.feature_sides_ = self.feature_factors_ = None
            self._attribute_bias = None
            return
        n_features = train_set.features.shape[1]
        sides = np.full(n_features, "rating", dtype=object)
        factors = np.zeros((n_features, self.n_components))
        for side, side_attributes, vectors in zip(
            ("user", "item"),
            attributes,
            (model.user_attribute_factors, model.item_attribute_factors),
            strict=True,
        ):
            sides[side_attributes.columns] = side
            factors[side_attributes.columns] = vectors
        self.feature_sides_ = sides
        self.feature_factors_ = factors / train_set.feature_scale[:, None]
        # What the linear term makes of each training id's attributes: recommend
        # adds it, as its candidates' attributes differ.
        self._attribute_bias = {
            side: side_attributes.values @ model.coef[side_attributes.columns]
            for side, side_attributes in zip(("user", "item"), attributes, strict=True)
        }

    def _implicit_sides(self) -> frozenset:
        return implicit_sides(self.implicit_feedback)

    def _prediction_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self._full_vectors

    def _set_fitted(
        self,
        train_set: TrainingSet,
        by_user: SideIndex,
        model: FactorModel,
        user_vectors: np.ndarray,
        item_vectors: np.ndarray,
    ) -> None:
        sides = self._implicit_sides()
        self.item_implicit_factors_ = model.item_implicit if "users" in sides else None
        self.user_implicit_factors_ = model.user_implicit if "items" in sides else None
        # The full vectors (factors plus implicit sums) are what predict multiplies;
        # keeping them means predict needs no training data.
        self._full_vectors = (
            np.asarray(user_vectors, dtype=np.float64),
            np.asarray(item_vectors, dtype=np.float64),
        )
        self.global_mean_ = train_set.global_mean
        self.rating_scale_ = train_set.rating_scale
        self._weight_scale = train_set.weight_scale
        self.users_ = train_set.users
        self.items_ = train_set.items
        self.user_bias_ = model.user_bias
        self.item_bias_ = model.item_bias
        self.user_factors_ = model.user_factors
        self.item_factors_ = model.item_factors
        self.coef_ = model.coef / train_set.feature_scale
        self._feature_mean = train_set.feature_mean
        self.rating_range_ = train_set.rating_range
        self._remember_seen(by_user)
        # partial_fit re-solves rows against their training ratings: keep them, net
        # of the global mean (already) and the linear term (fixed from now on). The
        # index is the fit's own, so its targets can change in place.
        target = by_user.target
        target *= train_set.rating_scale
        if model.coef.size:
            target -= by_user.gather(train_set.features @ model.coef)
        self._seen_target = target
        weight = by_user.weight
        self._seen_weight = None if _is_unit_weights(weight) else weight
        self._folded_items = np.zeros(len(train_set.items), dtype=bool)
