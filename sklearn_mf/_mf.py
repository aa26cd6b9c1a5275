"""MatrixFactorization: biased matrix factorization fitted by ALS or SGD."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning

from ._base import COMMON_CONSTRAINTS, BaseFactorization
from ._fold_in import fold_in
from ._mf_training import MFTraining
from ._solvers import SOLVERS, implicit_sides
from ._state import FittedAttribute, FittedState
from .utils._methods import available_if
from .utils._sklearn import Interval, StrOptions
from .utils._threads import numba_threads
from .utils._validation import RatingInput


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

    _count_parameters = ("n_components", "cg_steps", "max_iter", "n_iter_no_change")

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
        self._check_counts()
        self._check_solver_combination()
        ratings, y, sample_weight, metadata = self._validate_fit_input(
            X, y, sample_weight
        )
        state, converged = self._trained_state(ratings, y, sample_weight)
        if not converged and self.tol is not None:
            # Before the install: a warning turned into an error leaves no new model.
            warnings.warn(
                f"MatrixFactorization stopped after max_iter={self.max_iter} epochs "
                "before the stopping rule was met; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._install(state, metadata)
        return self

    item_implicit_factors_ = FittedAttribute(lambda state: state.items.implicit)
    user_implicit_factors_ = FittedAttribute(lambda state: state.users.implicit)
    feature_sides_ = FittedAttribute(lambda state: state.feature_sides)
    feature_factors_ = FittedAttribute(lambda state: state.feature_factors)
    alpha_ = FittedAttribute(lambda state: state.alpha)
    alpha_scores_ = FittedAttribute(lambda state: state.alpha_scores)
    loss_curve_ = FittedAttribute(lambda state: state.loss_curve)
    validation_scores_ = FittedAttribute(lambda state: state.validation_scores)

    def _check_solver_combination(self) -> None:
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

    def _trained_state(
        self, ratings: RatingInput, y: np.ndarray, sample_weight: np.ndarray
    ) -> tuple[FittedState, bool]:
        """The fitted state of the validated ratings, and whether the stopping rule
        fired."""
        previous = self.__dict__.get("_state") if self.warm_start else None
        return MFTraining.of(self.get_params(deep=False), previous).run(
            ratings, y, sample_weight
        )

    def _without_implicit_feedback(self) -> None:
        if implicit_sides(self.implicit_feedback):
            raise AttributeError(
                "partial_fit is not available with implicit_feedback="
                f"{self.implicit_feedback!r}: a new rating moves the implicit sums of "
                "every row that shares its item, so such a model must be refitted."
            )

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
        what each user rated. Each call builds a new model (the fitted arrays and
        that history, copied and extended) and installs it in one step, so that a
        ``predict`` running meanwhile in another thread sees the old model or the
        new one, never a mix, and a call that raises changes nothing; its cost
        grows with the size of the model, so fold in new ratings in batches. It is
        not available with ``implicit_feedback``: a rating moves the implicit sums
        of every row that shares its item.

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
        if not hasattr(self, "_state"):
            return self.fit(X, y, sample_weight)
        state = self._state
        ratings, y, sample_weight, _ = self._validate_fit_input(
            X, y, sample_weight, reset=False
        )
        with numba_threads(self.n_jobs) as n_threads:
            new_state = fold_in(
                state,
                ratings,
                y,
                sample_weight,
                alpha_bias=self.alpha_bias,
                fit_bias=self.fit_bias,
                n_chunks=4 * n_threads,
            )
        self._install(new_state)
        return self

    def _implicit_sides(self) -> frozenset:
        return implicit_sides(self.implicit_feedback)
